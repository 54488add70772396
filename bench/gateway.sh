#!/usr/bin/env bash
# mf-gateway figures (bench/RESULTS.md, section "Gateway"):
#   1. /metrics with RECORDS (default 1,000,000) records made by the dispatcher's real enqueue
#      path (mf-bench-enqueue): curl time per scrape, median and max of SCRAPES; for contrast
#      `mfctl status`, which counts records with a SCAN. Target: < 10 ms per scrape.
#   2. a 1 GiB upload (PUT, chunked, from a pipe) into the inbox: the gateway's peak RSS
#      (VmHWM). Target: < 32 MB.
#   3. an output of 1 GiB downloaded with curl from the gateway vs `cat` of the file, page
#      cache warm, median of 3. Target: within 20 %.
# Usage: bench/gateway.sh   (RECORDS=, SCRAPES=, UPLOAD_MB= override)
source "$(dirname "$0")/lib.sh"
RECORDS=${RECORDS:-1000000}
SCRAPES=${SCRAPES:-200}
UPLOAD_MB=${UPLOAD_MB:-1024}
for b in mf-gateway mf-bench-enqueue mfctl; do
    [ -x "$BIN/$b" ] || { echo "build $b first" >&2; exit 1; }
done

bench_redis
mkdir -p "$W/inbox" "$W/outbox"
export MF_INBOX=$W/inbox MF_OUTBOX=$W/outbox MF_LOG_LEVEL=info
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GW=http://127.0.0.1:$PORT
MF_HTTP_LISTEN=127.0.0.1:$PORT "$BIN/mf-gateway" 2>"$W/gateway.log" &
GW_PID=$!
BENCH_PIDS+=("$GW_PID")
for _ in $(seq 100); do curl -sf "$GW/healthz" >/dev/null && break; sleep 0.05; done

echo "# enqueueing $RECORDS records"
"$BIN/mf-bench-enqueue" "$MF_REDIS_URL" "$RECORDS" | tee "$W/enqueue.txt"
curl -sf "$GW/metrics" >"$W/metrics.txt"
grep -q "^mediafleet_records{lane=\"image\",status=\"queued\"} $RECORDS\$" "$W/metrics.txt" ||
    { echo "metrics do not count $RECORDS queued records:" >&2; grep records "$W/metrics.txt" >&2; exit 1; }

echo "# $SCRAPES scrapes of /metrics"
times=()
for _ in $(seq "$SCRAPES"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' "$GW/metrics")")
done
scrape_med=$(median "${times[@]}" | awk '{printf "%.2f", $1 * 1000}')
scrape_max=$(printf '%s\n' "${times[@]}" | sort -g | tail -1 | awk '{printf "%.2f", $1 * 1000}')
t0=$(now)
MF_REDIS_URL=$MF_REDIS_URL "$BIN/mfctl" status >/dev/null
scan_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')
echo "scrape median ${scrape_med} ms, max ${scrape_max} ms; mfctl status (SCAN) ${scan_s} s"

echo "# ${UPLOAD_MB} MiB upload"
t0=$(now)
head -c "$((UPLOAD_MB * 1048576))" /dev/zero |
    curl -sf -T - -H 'Transfer-Encoding: chunked' "$GW/api/upload/big.bin" >"$W/upload.json"
up_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}')
hwm_mb=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$GW_PID/status")
size=$(stat -c %s "$W/inbox/big.bin")
[ "$size" = "$((UPLOAD_MB * 1048576))" ] || { echo "uploaded size $size" >&2; exit 1; }
echo "upload ${up_s} s, gateway VmHWM ${hwm_mb} MB"

echo "# download vs cat"
id=01BENCH0000000000000000000
mkdir -p "$W/outbox/$id"
mv "$W/inbox/big.bin" "$W/outbox/$id/big.bin"
rc HSET "mf:file:$id" id "$id" status done outputs "[\"$id/big.bin\"]" >/dev/null
cat "$W/outbox/$id/big.bin" >/dev/null # warm the page cache
cat_t=() dl_t=()
for _ in 1 2 3; do
    t0=$(now)
    cat "$W/outbox/$id/big.bin" >/dev/null
    cat_t+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
    t0=$(now)
    curl -sf -o /dev/null "$GW/files/$id/big.bin"
    dl_t+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')")
done
cat_mbs=$(awk -v s="$(median "${cat_t[@]}")" -v m="$UPLOAD_MB" 'BEGIN {printf "%.0f", m / s}')
dl_mbs=$(awk -v s="$(median "${dl_t[@]}")" -v m="$UPLOAD_MB" 'BEGIN {printf "%.0f", m / s}')
echo "cat ${cat_mbs} MiB/s, gateway ${dl_mbs} MiB/s"

cat >"$W/section.md" <<EOF
- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)
- command: \`bench/gateway.sh\` (RECORDS=$RECORDS SCRAPES=$SCRAPES UPLOAD_MB=$UPLOAD_MB); load $(cut -d' ' -f1-3 /proc/loadavg)

| measure | figure | target |
|---|---:|---|
| \`/metrics\` with $RECORDS records, curl time per scrape, median | ${scrape_med} ms | < 10 ms |
| same, slowest of $SCRAPES | ${scrape_max} ms | |
| \`mfctl status\` (SCAN over records), for contrast | ${scan_s} s | |
| ${UPLOAD_MB} MiB chunked PUT upload, wall | ${up_s} s | |
| gateway peak RSS (VmHWM) after it | ${hwm_mb} MB | < 32 MB |
| download of a ${UPLOAD_MB} MiB output, curl from the gateway | ${dl_mbs} MiB/s | within 20 % of cat |
| \`cat\` of the same file to /dev/null | ${cat_mbs} MiB/s | |
| ratio gateway / cat | $(ratio "$dl_mbs" "$cat_mbs")x | >= 0.80x |

Records come from the dispatcher's enqueue script (mf-bench-enqueue), so the counters the
scrape reads were kept by the same scripts as in a fleet; a scrape reads them, the lanes'
XINFO GROUPS and XLEN, and the worker registry: no command touches the records. The upload
streams through libmicrohttpd's 64 KiB connection buffer to a temporary file in the inbox;
the download is sendfile(2) from the page cache, over loopback, to curl writing /dev/null.
EOF
results_section "Gateway" "$W/section.md"
cat "$W/section.md"
