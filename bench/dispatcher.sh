#!/usr/bin/env bash
# Dispatcher throughput and latency: N small distinct files written as fast as a script can
# into 20 subfolders of a watched inbox; every one must be recorded and enqueued.
# Prints files/s (first close-write to last enqueue) and p50/p99 close-write -> queued_at.
# Files start with a PNG signature so each is classified and queued (no workers run).
# Paced mode: RATE=10000 bench/dispatcher.sh writes at that many files/s (sleeping when ahead
# of the schedule), so the latency is the dispatcher's own, not the time a file waited behind
# a backlog the writer piled up; unpaced (RATE=0, the default) measures peak throughput.
# Usage: [RATE=files/s] bench/dispatcher.sh [N]   (default 20000)
source "$(dirname "$0")/lib.sh"
N=${1:-20000}
RATE=${RATE:-0}
bench_redis
mkdir -p "$W/inbox" "$W/outbox"
export MF_INBOX=$W/inbox MF_OUTBOX=$W/outbox MF_LOG_LEVEL=warn
"$BIN/mf-dispatcher" >"$W/dispatcher.log" 2>&1 &
DPID=$!
BENCH_PIDS+=($DPID)
# user+sys seconds of a process so far (all its threads)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' "/proc/$1/stat"; }
for _ in $(seq 100); do [ "$(rc XINFO GROUPS mf:q:image 2>/dev/null | head -1)" ] && break; sleep 0.05; done
sleep 0.5
RPID=${BENCH_PIDS[0]} # the private redis-server (bench_redis)
cpu0=$(cpu_s "$DPID") rcpu0=$(cpu_s "$RPID")

# the writer: distinct content per file (so none is a duplicate), close time per file
python3 - "$W/inbox" "$N" "$W/closed.tsv" "$RATE" <<'PY'
import os, struct, sys, time, zlib
root, n, out, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
dirs = [os.path.join(root, "d%02d" % i) for i in range(20)]
for d in dirs:
    os.mkdir(d)
time.sleep(0.3)  # let the dispatcher add its watches for the new folders
# a real PNG head (signature + IHDR): libmagic needs the IHDR chunk to say image/png
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
       struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
t0 = time.time()
with open(out, "w") as log:
    for i in range(n):
        if rate > 0:  # paced: sleep when more than 1 ms ahead of the schedule
            ahead = t0 + i / rate - time.time()
            if ahead > 0.001:
                time.sleep(ahead)
        rel = "d%02d/f%06d.png" % (i % 20, i)
        with open(os.path.join(root, rel), "wb") as f:
            # classified image/png, so every file is queued on mf:q:image
            f.write(png + b"file %d of the dispatcher benchmark\n" % i)
        log.write("%s\t%.6f\n" % (rel, time.time()))
PY
end=$((SECONDS + 120))
while [ "$(rc HLEN mf:paths)" -lt "$N" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
got=$(rc HLEN mf:paths)
cpu1=$(cpu_s "$DPID") rcpu1=$(cpu_s "$RPID")
# CPU per file: on a machine shared with other work, files per CPU-second of the dispatcher
# is the steadier figure (2 cores at this cost = the throughput ceiling)
cpu_line=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$got" \
    'BEGIN {printf "dispatcher_cpu_s=%.2f us_per_file=%.1f files_per_cpu_s=%.0f", b - a, (b - a) * 1e6 / n, n / (b - a)}')
cpu_line="$cpu_line $(awk -v a="$rcpu0" -v b="$rcpu1" -v n="$got" \
    'BEGIN {printf "redis_cpu_s=%.2f redis_us_per_file=%.1f", b - a, (b - a) * 1e6 / n}')"

# queued_at per path, through one redis-cli pipeline
rc HGETALL mf:paths | paste - - >"$W/paths.tsv"
cut -f2 "$W/paths.tsv" | awk '{print "HMGET mf:file:" $1 " path received_at queued_at"}' |
    rc >"$W/fields.txt"
python3 - "$W/closed.tsv" "$W/fields.txt" "$N" "$got" >"$W/summary.txt" <<'PY'
import sys, datetime
closed = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")
def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
lat, queued = [], []
for i in range(0, len(lines) - 2, 3):
    path, q = lines[i], lines[i + 2]
    if path in closed and q:
        lat.append(ts(q) - float(closed[path]))
        queued.append(ts(q))
if not lat:
    sys.exit("no file reached queued: see the dispatcher log")
lat.sort()
first = min(float(v) for v in closed.values())
span = max(queued) - first
n = len(lat)
p = lambda q: lat[min(n - 1, int(q * n))] * 1000
wrote = max(float(v) for v in closed.values()) - first
print("files=%s recorded=%s written_per_s=%.0f files_per_s=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (
    sys.argv[3], sys.argv[4], n / wrote, n / span, p(0.5), p(0.99), lat[-1] * 1000))
PY
echo "$(cat "$W/summary.txt") $cpu_line load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" >"$W/s2"
mv "$W/s2" "$W/summary.txt"
cat "$W/summary.txt"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`RATE=$RATE bench/dispatcher.sh $N\`"
        echo "- result: $(cat "$W/summary.txt")"
        echo "- targets: >= 10,000 files/s, p99 <= 10 ms (timestamps in ms; close time from the writer)"
        echo "- written_per_s is what the writer managed (paced: at most RATE); files_per_s is first close to last enqueue; us_per_file is CPU (user+sys) of the dispatcher and of redis-server per file, the figures a loaded machine disturbs least. queued_at has ms resolution, so a latency can read slightly negative."
    } >"$W/section.md"
    if [ "$RATE" = 0 ]; then
        results_section "Dispatcher" "$W/section.md"
    else
        results_section "Dispatcher, paced at $RATE files/s" "$W/section.md"
    fi
fi
