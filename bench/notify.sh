#!/usr/bin/env bash
# mf-notifier: delivery throughput, event -> request latency, and memory.
#  1. throughput: N events (default 100,000) with their records are written to
#     <prefix>events before mf-notifier starts (its consumer group made first, at the
#     start of the stream); deliveries/s is N over the time until the endpoint's ok
#     counter reaches N. RSS of mf-notifier is sampled every ~10 % of the way: flat is
#     the claim.
#  2. latency: RATE events/s (default 100) for SECS seconds (default 20) with the
#     notifier idle and caught up; p50/p99 of (request received - event XADD time).
# The receiver is bench/webhook_sink.c (C, libuv, keep-alive, 204 at once): Python's
# http.server is slower than the notifier and would measure itself. Events go in through
# one Redis connection from Python (RESP by hand, no client library needed).
# Usage: [RATE=100] [SECS=20] bench/notify.sh [N]
source "$(dirname "$0")/lib.sh"
N=${1:-100000}
RATE=${RATE:-100}
SECS=${SECS:-20}
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

bench_redis
"$BIN/mf-bench-webhook-sink" "$W/port" "$W/stats" &
SINK=$!
BENCH_PIDS+=($SINK)
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$W/port")/hook"
export MF_WEBHOOK_URLS=$URL MF_WEBHOOK_SECRET=$SECRET MF_WEBHOOK_ALLOW_PRIVATE=1 MF_LOG_LEVEL=warn

# writer.py SOCK MODE N RATE: MODE fill writes N records and events as fast as it can
# (pipelined); MODE paced writes one event every 1/RATE s for N events.
cat >"$W/writer.py" <<'PY'
import socket, sys, time
sock, mode, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
def drain(replies):
    buf = b""
    while buf.count(b"\r\n") < replies:
        buf += s.recv(1 << 20)
def record(i):
    rid = "01BENCH%019d" % i
    return cmd("HSET", "mf:file:" + rid, "id", rid, "path", "bench/f%d.jpg" % i, "type", "image",
               "profile", "default", "status", "done", "size", "119295", "sha256", "ab" * 32,
               "process_duration_ms", "252", "received_at", "2026-12-04T00:00:00.000Z",
               "finished_at", "2026-12-04T00:00:00.252Z",
               "outputs", '["%s/thumb-256.webp","%s/preview-1280.webp"]' % (rid, rid)), rid
def event(rid, i):
    return cmd("XADD", "mf:events", "MAXLEN", "~", "1000000", "*", "id", rid, "status", "done",
               "type", "image", "path", "bench/f%d.jpg" % i)
if mode == "fill":
    for start in range(0, n, 1000):
        batch = []
        for i in range(start, min(n, start + 1000)):
            r, rid = record(i)
            batch += [r, event(rid, i)]
        s.sendall(b"".join(batch))
        drain(len(batch))
else:
    t0 = time.time()
    for i in range(n):
        ahead = t0 + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        r, rid = record(10_000_000 + i)
        s.sendall(r + event(rid, 10_000_000 + i))
        drain(2)
PY

ok_count() { rc HGET mf:webhooks:endpoints "$URL" | jq -r '.ok // 0' 2>/dev/null || echo 0; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# 1. throughput and memory
rc XGROUP CREATE mf:events notifier 0 MKSTREAM >/dev/null
t=$(now)
python3 "$W/writer.py" "$W/redis.sock" fill "$N" 0
echo "wrote $N events in $(awk -v a="$t" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}') s" >&2
"$BIN/mf-notifier" 2>"$W/notifier.log" &
NOTIFIER=$!
BENCH_PIDS+=($NOTIFIER)
t0=$(now)
cpu0=$(cpu_tree "$NOTIFIER")
samples=()
step=$((N / 10))
next=$step
while :; do
    got=$(ok_count)
    [ "$got" -ge "$N" ] && break
    if [ "$got" -ge "$next" ]; then
        samples+=("$got:$(rss_kb "$NOTIFIER")")
        next=$((next + step))
    fi
    kill -0 "$NOTIFIER" || { cat "$W/notifier.log" >&2; exit 1; }
    sleep 0.05
done
t1=$(now)
samples+=("$N:$(rss_kb "$NOTIFIER")")
cpu1=$(cpu_tree "$NOTIFIER")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
rate=$(awk -v n="$N" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')
kill -USR1 "$SINK"
sleep 0.3
read -r sink_n _ _ _ <"$W/stats"
failed=$(rc HGET mf:webhooks:endpoints "$URL" | jq -r '.failed')
echo "throughput: $N deliveries in $secs s = $rate/s (notifier CPU ${cpu}s; sink saw $sink_n; failed $failed)" >&2
echo "rss (deliveries:KiB): ${samples[*]}" >&2

# 2. latency at RATE events/s
paced=$((RATE * SECS))
python3 "$W/writer.py" "$W/redis.sock" paced "$paced" "$RATE"
target=$((N + paced))
for _ in $(seq 600); do [ "$(ok_count)" -ge "$target" ] && break; sleep 0.05; done
kill -USR1 "$SINK"
sleep 0.3
read -r lat_n p50 p99 max <"$W/stats"
echo "latency at $RATE/s: n=$lat_n p50=${p50}ms p99=${p99}ms max=${max}ms" >&2

rss_first=${samples[0]#*:}
rss_last=${samples[-1]#*:}
cat >"$W/section" <<MD
- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine); load $(cut -d' ' -f1-3 /proc/loadavg)
- command: \`bench/notify.sh $N\` (RATE=$RATE SECS=$SECS); libcurl $(curl-config --version | cut -d' ' -f2)

| measure | result | target |
|---|---:|---:|
| deliveries/s, $N events waiting, one endpoint (HTTP/1.1 keep-alive, webhook_max_per_host=8) | $rate | >= 1,000 |
| mf-notifier CPU for those | ${cpu} s ($(awk -v c="$cpu" -v n="$N" 'BEGIN {printf "%.0f", c / n * 1e6}') us per delivery) | |
| event -> request p50 at $RATE events/s ($lat_n events) | ${p50} ms | |
| event -> request p99 at $RATE events/s | ${p99} ms | < 50 ms |
| event -> request max | ${max} ms | |
| mf-notifier RSS, first sample / after $N deliveries | $((rss_first / 1024)) MiB / $((rss_last / 1024)) MiB | flat |

RSS samples (deliveries:KiB): ${samples[*]}.
The receiver is \`bench/webhook_sink.c\` (C, libuv, answers 204 at once); every request is
signed (HMAC-SHA256); every delivery is written to Redis (hash, pending ZSET) before its
event is acknowledged, then its attempt logged, the endpoint state saved and the delivery
deleted. The event stream was filled before the notifier started, so the figure includes
reading the events and the records.
MD
results_section "Webhooks (mf-notifier)" "$W/section"
cat "$W/section"
