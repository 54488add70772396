#!/usr/bin/env bash
# Dispatcher throughput and latency: N small distinct files written as fast as a script can
# into 20 subfolders of a watched inbox; every one must be recorded and enqueued.
# Prints files/s (first close-write to last enqueue) and p50/p99 close-write -> queued_at.
# Files start with a PNG header so each is classified and queued (no workers run); every
# 100th is written as .part and renamed. Each run checks one record and one job per file and
# no .part file recorded.
# Paced mode: RATE=10000 bench/dispatcher.sh writes at that many files/s (sleeping when ahead
# of the schedule), so the latency is the dispatcher's own, not the time a file waited behind
# a backlog the writer piled up; unpaced (RATE=0, the default) measures peak throughput.
# Each of REPEAT runs (default 3) gets a fresh redis-server, dispatcher and inbox; the run
# with the median p99 (paced) or the median files/s (unpaced) is reported, with all runs.
# The inbox is on tmpfs (/dev/shm) unless INBOX_DIR names another place: on this VM's ext4
# disk the writer alone manages only 3,000-5,000 file creations/s, so a disk inbox measures
# the disk. The writer's own rate on the same filesystem, with nothing watching, is printed.
# Usage: [RATE=files/s] [REPEAT=n] [INBOX_DIR=dir] bench/dispatcher.sh [N]   (default 20000)
source "$(dirname "$0")/lib.sh"
N=${1:-20000}
RATE=${RATE:-0}
REPEAT=${REPEAT:-3}
if [ -z "${INBOX_DIR:-}" ]; then
    INBOX_DIR=$W
    [ -d /dev/shm ] && [ -w /dev/shm ] && INBOX_DIR=$(mktemp -d /dev/shm/mf-bench-inbox.XXXXXX)
fi
INBOX_FS=$(stat -f -c %T "$INBOX_DIR")
cleanup_inbox() { [ "$INBOX_DIR" = "$W" ] || rm -rf "$INBOX_DIR"; }
trap 'cleanup_inbox; bench_cleanup' EXIT

# user+sys seconds of a process so far (all its threads)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' "/proc/$1/stat"; }

# The writer: distinct content per file (so none is a duplicate), close time per file.
# os.open/os.write/os.close: the cheapest a Python script writes a file.
cat >"$W/writer.py" <<'PY'
import os, struct, sys, time, zlib
root, n, out, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
for i in range(20):
    os.mkdir(os.path.join(root, "d%02d" % i))
time.sleep(0.3)  # let the dispatcher add its watches for the new folders
# a real PNG head (signature + IHDR): libmagic needs the IHDR chunk to say image/png
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
       struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
closed = [0.0] * n
t0 = time.time()
for i in range(n):
    if rate > 0:  # paced: sleep when more than 1 ms ahead of the schedule
        ahead = t0 + i / rate - time.time()
        if ahead > 0.001:
            time.sleep(ahead)
    path = os.path.join(root, "d%02d/f%06d.png" % (i % 20, i))
    # every 100th arrives as an upload tool writes it: a .part file renamed when complete
    part = i % 100 == 99
    fd = os.open(path + ".part" if part else path, flags, 0o644)
    # classified image/png, so every file is queued on mf:q:image
    os.write(fd, png + b"file %d of the dispatcher benchmark\n" % i)
    os.close(fd)
    if part:
        os.rename(path + ".part", path)
    closed[i] = time.time()
with open(out, "w") as log:
    for i in range(n):
        log.write("d%02d/f%06d.png\t%.6f\n" % (i % 20, i, closed[i]))
PY

# The writer alone, nothing watching: the fastest this script writes on this filesystem.
mkdir "$INBOX_DIR/alone"
t0=$(now)
python3 "$W/writer.py" "$INBOX_DIR/alone" "$N" "$W/alone.tsv" 0
writer_alone=$(awk -v n="$N" -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", n / (b - a - 0.3)}')
rm -rf "$INBOX_DIR/alone"

# run_once I: one run in its own redis-server, dispatcher and inbox; appends a summary line.
run_once() {
    local i=$1 r=$W/run$1 inbox=$INBOX_DIR/run$1 rpid dpid cpu0 rcpu0 cpu1 rcpu1 got end
    mkdir -p "$r/redis" "$r/outbox" "$inbox"
    redis-server --port 0 --unixsocket "$r/redis.sock" --dir "$r/redis" --save "" \
        --appendonly no --daemonize no >"$r/redis.log" 2>&1 &
    rpid=$!
    BENCH_PIDS+=($rpid)
    rcr() { redis-cli -s "$r/redis.sock" --raw "$@"; }
    for _ in $(seq 100); do rcr ping >/dev/null 2>&1 && break; sleep 0.05; done
    MF_REDIS_URL="unix://$r/redis.sock" MF_INBOX=$inbox MF_OUTBOX=$r/outbox MF_LOG_LEVEL=warn \
        "$BIN/mf-dispatcher" >"$r/dispatcher.log" 2>&1 &
    dpid=$!
    BENCH_PIDS+=($dpid)
    for _ in $(seq 100); do [ "$(rcr XINFO GROUPS mf:q:image 2>/dev/null | head -1)" ] && break; sleep 0.05; done
    sleep 0.5
    cpu0=$(cpu_s "$dpid") rcpu0=$(cpu_s "$rpid")
    python3 "$W/writer.py" "$inbox" "$N" "$r/closed.tsv" "$RATE"
    end=$((SECONDS + 120))
    while [ "$(rcr HLEN mf:paths)" -lt "$N" ] && [ $SECONDS -lt $end ]; do sleep 0.1; done
    got=$(rcr HLEN mf:paths)
    cpu1=$(cpu_s "$dpid") rcpu1=$(cpu_s "$rpid")
    # correct at this rate: one record and one job per file, no .part file recorded
    records=$(rcr --scan --pattern 'mf:file:*' | wc -l)
    jobs=$(rcr XLEN mf:q:image)
    parts=$(rcr HKEYS mf:paths | grep -c '\.part$' || true)
    # queued_at per path, through one redis-cli pipeline
    rcr HGETALL mf:paths | paste - - | cut -f2 |
        awk '{print "HMGET mf:file:" $1 " path received_at queued_at"}' | rcr >"$r/fields.txt"
    python3 - "$r/closed.tsv" "$r/fields.txt" "$N" "$got" >"$r/summary.txt" <<'PY'
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
    sys.argv[3], sys.argv[4], n / wrote, n / span, p(0.5), p(0.99), lat[-1] * 1000), end="")
PY
    # CPU per file: on a machine shared with other work, files per CPU-second of the
    # dispatcher is the steadier figure (2 cores at this cost = the throughput ceiling)
    awk -v a="$cpu0" -v b="$cpu1" -v ra="$rcpu0" -v rb="$rcpu1" -v n="$got" 'BEGIN {
        printf " dispatcher_cpu_s=%.2f us_per_file=%.1f files_per_cpu_s=%.0f redis_cpu_s=%.2f redis_us_per_file=%.1f",
            b - a, (b - a) * 1e6 / n, n / (b - a), rb - ra, (rb - ra) * 1e6 / n}' >>"$r/summary.txt"
    echo " records=$records jobs=$jobs part_recorded=$parts load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)" >>"$r/summary.txt"
    [ "$records" = "$N" ] && [ "$jobs" = "$N" ] && [ "$parts" = 0 ] ||
        echo "run $i: records=$records jobs=$jobs part_recorded=$parts, expected $N $N 0" >&2
    kill -TERM "$dpid" "$rpid" 2>/dev/null || true
    wait "$dpid" "$rpid" 2>/dev/null || true
    rm -rf "$inbox"
    [ "$got" = "$N" ] || echo "run $i: only $got of $N files recorded" >&2
    cat "$r/summary.txt" | tee -a "$W/runs.txt"
}

for i in $(seq "$REPEAT"); do run_once "$i"; done
field() { sed -n "s/.* $1=\([-0-9.]*\).*/\1/p" "$W/runs.txt"; }
key=files_per_s
[ "$RATE" = 0 ] || key=p99_ms
# the run whose key figure is the median (the lower middle one for an even count)
med=$(paste <(field "$key") "$W/runs.txt" | sort -g -k1,1 | sed -n "$(((REPEAT + 1) / 2))p" | cut -f2-)
all="files/s $(field files_per_s | paste -sd' '), p99 ms $(field p99_ms | paste -sd' ')"
summary="$med"
echo "median run ($key): $summary"
echo "all runs: $all; writer alone on $INBOX_FS: $writer_alone files/s"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine); inbox on $INBOX_FS"
        echo "- command: \`RATE=$RATE REPEAT=$REPEAT bench/dispatcher.sh $N\`"
        echo "- result (the run with the median $key of $REPEAT): $summary"
        echo "- all runs: $all; the writer alone on the same filesystem, nothing watching: $writer_alone files/s"
        echo "- targets: >= 10,000 files/s, p99 <= 10 ms (timestamps in ms; close time from the writer)"
        echo "- written_per_s is what the writer managed (paced: at most RATE); files_per_s is first close to last enqueue; us_per_file is CPU (user+sys) of the dispatcher and of redis-server per file, the figures a loaded machine disturbs least. queued_at has ms resolution, so a latency can read slightly negative."
    } >"$W/section.md"
    if [ "$RATE" = 0 ]; then
        results_section "Dispatcher" "$W/section.md"
    else
        results_section "Dispatcher, paced at $RATE files/s" "$W/section.md"
    fi
fi
