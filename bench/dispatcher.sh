#!/usr/bin/env bash
# Dispatcher throughput and latency: N small distinct files written as fast as a script can
# into 20 subfolders of a watched inbox; every one must be recorded and enqueued.
# Prints files/s (first close-write to last enqueue) and p50/p99 close-write -> queued_at.
# Files start with a PNG signature so each is classified and queued (no workers run).
# Usage: bench/dispatcher.sh [N]   (default 20000)
source "$(dirname "$0")/lib.sh"
N=${1:-20000}
bench_redis
mkdir -p "$W/inbox" "$W/outbox"
export MF_INBOX=$W/inbox MF_OUTBOX=$W/outbox MF_LOG_LEVEL=warn
"$BIN/mf-dispatcher" >"$W/dispatcher.log" 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 100); do [ "$(rc XINFO GROUPS mf:q:image 2>/dev/null | head -1)" ] && break; sleep 0.05; done
sleep 0.5

# the writer: distinct content per file (so none is a duplicate), close time per file
python3 - "$W/inbox" "$N" "$W/closed.tsv" <<'PY'
import os, struct, sys, time, zlib
root, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dirs = [os.path.join(root, "d%02d" % i) for i in range(20)]
for d in dirs:
    os.mkdir(d)
time.sleep(0.3)  # let the dispatcher add its watches for the new folders
# a real PNG head (signature + IHDR): libmagic needs the IHDR chunk to say image/png
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
       struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
with open(out, "w") as log:
    for i in range(n):
        rel = "d%02d/f%06d.png" % (i % 20, i)
        with open(os.path.join(root, rel), "wb") as f:
            # classified image/png, so every file is queued on mf:q:image
            f.write(png + b"file %d of the dispatcher benchmark\n" % i)
        log.write("%s\t%.6f\n" % (rel, time.time()))
PY
end=$((SECONDS + 120))
while [ "$(rc HLEN mf:paths)" -lt "$N" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
got=$(rc HLEN mf:paths)

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
print("files=%s recorded=%s files_per_s=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (
    sys.argv[3], sys.argv[4], n / span, p(0.5), p(0.99), lat[-1] * 1000))
PY
cat "$W/summary.txt"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/dispatcher.sh $N\`"
        echo "- result: $(cat "$W/summary.txt")"
        echo "- targets: >= 10,000 files/s, p99 <= 10 ms (timestamps in ms; close time from the writer)"
    } >"$W/section.md"
    results_section "Dispatcher" "$W/section.md"
fi
