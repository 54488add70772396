#!/usr/bin/env bash
# Memory: what mediafleet costs in RAM, measured on the real binaries.
#   (a) Redis bytes per queued file: mf-bench-enqueue (bench/enqueue_mem.c) drives the real
#       enqueue path (mf_queue_enqueue, enqueue.lua, batches of 1000) for N distinct image
#       uploads into a private redis-server configured like `mfctl up`'s
#       (--hash-max-listpack-value 4096); INFO used_memory after - before, / N. Each file
#       leaves its record (mf:file:<id>), its stream entry (mf:q:image), a mf:paths field and
#       a mf:sha:<sha256> key; mf:events is capped (events_maxlen 100000) and reported apart.
#   (b) dispatcher VmRSS sampled every 0.5 s from /proc while FLOW files flow through it
#       (written as fast as a script can, in 100 folders, on tmpfs when /dev/shm is there:
#       this VM's disk creates only 3,000-5,000 files/s; every one recorded).
#   (c) mf-worker-image in run mode, VmRSS of the worker plus its executor child: idle after
#       start (the executor that proved the lane initialises is stopped when no job waits),
#       warm right after one photo, and idle again once executor_idle_s (default 10 s)
#       passed without a job and the executor was stopped.
#   (d) peak RSS of `mf-worker-video process` transcoding a 1080p H.264 clip (GNU time).
#   (e) peak RSS of `mf-worker-image process` on a 100 MP JPEG (GNU time).
# Writes the "Memory" section of bench/RESULTS.md.
# Usage: bench/memory.sh [N] [FLOW]   (default 1000000 queued files, 1000000 flowing files)
source "$(dirname "$0")/lib.sh"
N=${1:-1000000}
FLOW=${2:-1000000}
for b in mf-bench-enqueue mf-dispatcher mf-worker-image mf-worker-video; do
    [ -x "$BIN/$b" ] || { echo "bench/memory.sh: build $b first ($BIN)" >&2; exit 2; }
done
vmrss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
used_memory() { rc INFO memory | awk -F: '/^used_memory:/ {print $2 + 0}'; }

# ---- (a) Redis bytes per queued file --------------------------------------------------------
mkdir -p "$W/redis-a"
redis-server --port 0 --unixsocket "$W/a.sock" --dir "$W/redis-a" --save "" --appendonly no \
    --hash-max-listpack-value 4096 --daemonize no >"$W/redis-a.log" 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 100); do redis-cli -s "$W/a.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
ra() { redis-cli -s "$W/a.sock" --raw "$@"; }
# one upload first creates the stream and the group and loads the script, so the delta
# counts files only
"$BIN/mf-bench-enqueue" "unix://$W/a.sock" 1 >/dev/null
m0=$(ra INFO memory | awk -F: '/^used_memory:/ {print $2 + 0}')
enq=$("$BIN/mf-bench-enqueue" "unix://$W/a.sock" "$N" 1000 1 | tail -1)
m1=$(ra INFO memory | awk -F: '/^used_memory:/ {print $2 + 0}')
ev_bytes=$(ra MEMORY USAGE mf:events SAMPLES 0)
q_bytes=$(ra MEMORY USAGE mf:q:image SAMPLES 0)
paths_bytes=$(ra MEMORY USAGE mf:paths SAMPLES 0)
id=$(ra HGET mf:paths photos/000/IMG_00000500.jpg)
rec_bytes=$(ra MEMORY USAGE "mf:file:$id")
rec_enc=$(ra OBJECT ENCODING "mf:file:$id")
sha_bytes=$(ra MEMORY USAGE "mf:sha:$(ra HGET "mf:file:$id" sha256)")
keys=$(ra DBSIZE)
per=$(awk -v a="$m0" -v b="$m1" -v n="$N" 'BEGIN {printf "%.0f", (b - a) / n}')
per_noev=$(awk -v a="$m0" -v b="$m1" -v e="$ev_bytes" -v n="$N" 'BEGIN {printf "%.0f", (b - a - e) / n}')
A="N=$N ($enq): used_memory delta $(((m1 - m0) / 1048576)) MiB = $per bytes/file ($per_noev without the capped mf:events stream, $((ev_bytes / 1048576)) MiB); MEMORY USAGE: record $rec_bytes B ($rec_enc), mf:sha key $sha_bytes B, mf:q:image $(awk -v b="$q_bytes" -v n="$N" 'BEGIN {printf "%.0f", b / n}') B/file, mf:paths $(awk -v b="$paths_bytes" -v n="$N" 'BEGIN {printf "%.0f", b / n}') B/file; keys=$keys"
echo "(a) $A"
redis-cli -s "$W/a.sock" shutdown nosave >/dev/null 2>&1 || true

# ---- (b) dispatcher RSS while files flow ------------------------------------------------------
bench_redis
FLOW_INBOX=$W/inbox
[ -d /dev/shm ] && [ -w /dev/shm ] && FLOW_INBOX=$(mktemp -d /dev/shm/mf-bench-flow.XXXXXX)
trap '[ "$FLOW_INBOX" = "$W/inbox" ] || rm -rf "$FLOW_INBOX"; bench_cleanup' EXIT
mkdir -p "$FLOW_INBOX" "$W/outbox"
MF_INBOX=$FLOW_INBOX MF_OUTBOX=$W/outbox MF_LOG_LEVEL=warn "$BIN/mf-dispatcher" \
    >"$W/dispatcher.log" 2>&1 &
dpid=$!
BENCH_PIDS+=($dpid)
for _ in $(seq 100); do [ "$(rc EXISTS mf:q:image)" = 1 ] && break; sleep 0.05; done
sleep 0.5
rss_start=$(vmrss_kb "$dpid")
python3 - "$FLOW_INBOX" "$FLOW" <<'PY' &
import os, struct, sys, time, zlib
root, n = sys.argv[1], int(sys.argv[2])
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
       struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
for i in range(100):
    os.mkdir(os.path.join(root, "d%02d" % i))
time.sleep(0.3)
for i in range(n):
    fd = os.open(os.path.join(root, "d%02d/f%07d.png" % (i % 100, i)),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, png + b"file %d of the memory benchmark\n" % i)
    os.close(fd)
PY
wpid=$!
flow_t0=$(now)
: >"$W/rss.txt"
end=$((SECONDS + 600))
while [ $SECONDS -lt $end ]; do
    echo "$(rc HLEN mf:paths) $(vmrss_kb "$dpid")" >>"$W/rss.txt"
    kill -0 "$wpid" 2>/dev/null || [ "$(rc HLEN mf:paths)" -lt "$FLOW" ] || break
    sleep 0.5
done
wait "$wpid" || true
got=$(rc HLEN mf:paths)
flow_s=$(awk -v a="$flow_t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}')
sleep 1 # the dispatcher trims its heap once the burst is over
rss_end=$(vmrss_kb "$dpid")
# quartiles of the flow: RSS at ~25 %, 50 %, 75 % of the files recorded, and the peak
q() { awk -v n="$FLOW" -v f="$1" '$1 >= n * f {print $2; exit}' "$W/rss.txt"; }
rss_max=$(awk '$2 > m {m = $2} END {print m}' "$W/rss.txt")
B="files=$FLOW recorded=$got in ${flow_s}s samples=$(wc -l <"$W/rss.txt"); VmRSS before $(mb "$rss_start") MB, at 25 % $(mb "$(q 0.25)") MB, 50 % $(mb "$(q 0.5)") MB, 75 % $(mb "$(q 0.75)") MB, after $(mb "$rss_end") MB, peak $(mb "$rss_max") MB"
echo "(b) $B"
kill -TERM "$dpid" 2>/dev/null || true

# ---- (c) idle image worker (parent + executor) --------------------------------------------
rc FLUSHALL >/dev/null # (b) left its files queued: this worker must find only its own job
mkdir -p "$W/inbox2/c"
vips gaussnoise "$W/n.v" 4000 3000 --mean 128 --sigma 60 --seed 7
vips gaussblur "$W/n.v" "$W/inbox2/c/photo.jpg[Q=90]" 2
rm -f "$W/n.v"
MF_INBOX=$W/inbox2 MF_OUTBOX=$W/outbox MF_LOG_LEVEL=warn \
    "$BIN/mf-worker-image" >"$W/worker.log" 2>&1 &
ipid=$!
BENCH_PIDS+=($ipid)
sleep 4 # ready, then one empty claim (1 s): the start-up executor is stopped
# VmRSS counts the pages of the ~100 shared libraries (libvips, glib, ...) in each process;
# Pss shares them out between the processes mapping them, Private_Dirty is the process's own
tree_rss() {
    local kids t=0 pss=0 priv=0 p
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null)
    for p in $1 $kids; do
        t=$((t + $(vmrss_kb "$p")))
        pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
        priv=$((priv + $(awk '/^Private_Dirty:/ {print $2}' "/proc/$p/smaps_rollup")))
    done
    echo "$t $(mb "$(vmrss_kb "$1")") $(echo $kids | wc -w) $(mb "$pss") $(mb "$priv")"
}
read -r idle_kb idle_parent idle_kids idle_pss idle_priv <<<"$(tree_rss "$ipid")"
# one job through it: a dispatcher on its own inbox records and queues the photo
MF_INBOX=$W/inbox2 MF_OUTBOX=$W/outbox MF_LOG_LEVEL=warn "$BIN/mf-dispatcher" \
    >"$W/dispatcher2.log" 2>&1 &
d2=$!
BENCH_PIDS+=($d2)
for _ in $(seq 600); do
    pid_c=$(rc HGET mf:paths c/photo.jpg)
    [ -n "$pid_c" ] && [ "$(rc HGET "mf:file:$pid_c" status)" = done ] && break
    sleep 0.1
done
kill -TERM "$d2" 2>/dev/null || true
read -r after_kb _ after_kids after_pss after_priv <<<"$(tree_rss "$ipid")"
sleep 12 # executor_idle_s (10 s by default) without a job: the executor is stopped
read -r rest_kb _ rest_kids rest_pss _ <<<"$(tree_rss "$ipid")"
C="idle after start: VmRSS $(mb "$idle_kb") MB ($idle_kids executor; worker alone $idle_parent MB), Pss $idle_pss MB, Private_Dirty $idle_priv MB; warm right after one 12 MP photo (status $(rc HGET "mf:file:$pid_c" status)), worker + $after_kids executor: VmRSS $(mb "$after_kb") MB, Pss $after_pss MB, Private_Dirty $after_priv MB; idle again executor_idle_s (10 s) later: VmRSS $(mb "$rest_kb") MB ($rest_kids executor), Pss $rest_pss MB"
echo "(c) $C"
kill -TERM "$ipid" 2>/dev/null || true

# ---- (d) video transcode, (e) image 100 MP ----------------------------------------------------
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=10" \
    -f lavfi -i "sine=frequency=440:duration=10" -c:v libx264 -preset veryfast -g 30 \
    -pix_fmt yuv420p -c:a aac -b:a 128k "$W/in-1080p.mp4"
rss_video=$(peak_rss_mb "$BIN/mf-worker-video" process "$W/in-1080p.mp4" --out "$W/vout")
rss_ffmpeg=$(peak_rss_mb ffmpeg -nostdin -v error -y -i "$W/in-1080p.mp4" -vf scale=-2:720 \
    -c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 128k "$W/ff.mp4")
D="mf-worker-video process (keyframes, poster, sheet, 720p transcode of 10 s 1080p30): peak $rss_video MB (ffmpeg CLI transcode alone: $rss_ffmpeg MB)"
echo "(d) $D"
vips gaussnoise "$W/big.v" 10000 10000 --mean 128 --sigma 40
vips copy "$W/big.v" "$W/big.jpg[Q=85]"
rm -f "$W/big.v"
rss_img=$(peak_rss_mb "$BIN/mf-worker-image" process "$W/big.jpg" --out "$W/big-out")
E="mf-worker-image process on a 10000x10000 JPEG: peak $rss_img MB"
echo "(e) $E"

if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/memory.sh $N $FLOW\`; redis-server $(redis-server --version | awk '{print $3}')"
        echo "- (a) Redis per queued file (target <= 1 KB): $A"
        echo "- (b) dispatcher RSS while files flow (target: flat): $B"
        echo "- (c) idle image worker (target <= 30 MB): $C"
        echo "- (d) video worker transcoding 1080p (target <= 300 MB): $D"
        echo "- (e) image one-shot on 100 MP (target <= 150 MB): $E"
    } >"$W/section.md"
    results_section "Memory" "$W/section.md"
fi
