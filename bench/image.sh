#!/usr/bin/env bash
# Image lane: thumbnails/s of mf-worker-image (thumb-256 + preview-1280 from ONE decode), as
# the fleet runs it (fed by the queue) and one-shot (a process per file), against
# vipsthumbnail producing the same two sizes (two runs, two decodes) on the same files in the
# same run, at its default WebP effort and at ours; CPU time beside wall time; peak RSS on a
# 100 MP JPEG for both.
# Usage: bench/image.sh [FILES] [RUNS]   (default 12 photos of 4000x3000, 3 runs)
source "$(dirname "$0")/lib.sh"
FILES=${1:-12}
RUNS=${2:-3}
mkdir -p "$W/in"
# Colour photos with grain: three noise bands, blurred. Textured content is the worst case for
# the encoders, and so for both sides. libvips 8.14 repeats the same noise at this size
# whatever the --seed, so each file and band gets its own mean too (distinct files, or the
# dispatcher rightly records duplicates).
for i in $(seq "$FILES"); do
    for b in 0 1 2; do
        vips gaussnoise "$W/n$b.v" 4000 3000 --mean $((80 + (i * 7 + b * 29) % 96)) --sigma 60 \
            --seed $((i * 3 + b))
    done
    vips bandjoin "$W/n0.v $W/n1.v $W/n2.v" "$W/n.v"
    vips gaussblur "$W/n.v" "$W/nb.v" 2
    # float bands would be read as scRGB (0..1) and saved white: to 8-bit sRGB first
    vips cast "$W/nb.v" "$W/nc.v" uchar
    vips copy "$W/nc.v" "$W/in/p$i.jpg[Q=90]" --interpretation srgb
done
rm -f "$W"/n*.v

run_ours() {
    local f
    for f in "$W"/in/*.jpg; do
        "$BIN/mf-worker-image" process "$f" --out "$W/ours/$(basename "$f")" >/dev/null
    done
}
# run_stock SAVE_OPTIONS: what a shell pipeline does, one vipsthumbnail per size and file.
run_stock() {
    local f
    for f in "$W"/in/*.jpg; do
        vipsthumbnail "$f" -s 1280 -o "$W/stock/%s-preview-1280.webp[$1]"
        vipsthumbnail "$f" -s 256 -o "$W/stock/%s-thumb-256.webp[$1]"
    done
}
# timed NAME CMD...: appends "wall cpu" (cpu = user+sys of the command and its children).
timed() {
    local name=$1 out
    shift
    rm -rf "$W/ours" "$W/stock" && mkdir -p "$W/ours" "$W/stock"
    out=$({ TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1)
    echo "$out" | awk -v n="$name" '{printf "%s %s %.3f\n", n, $1, $2 + $3}' >>"$W/times"
}
# The worker as the fleet runs it: the files are recorded and queued by mf-dispatcher first,
# then one mf-worker-image is started (its start-up and library init are in the time) and the
# clock stops when every record is terminal. Appends "fleet wall cpu".
run_fleet() {
    local d=$W/fleet pid t0 t1 c n=0
    rc FLUSHALL >/dev/null
    rm -rf "$d" && mkdir -p "$d/inbox" "$d/outbox"
    cp "$W"/in/*.jpg "$d/inbox/"
    MF_INBOX=$d/inbox MF_OUTBOX=$d/outbox "$BIN/mf-dispatcher" >"$W/dispatcher.log" 2>&1 &
    pid=$!
    until [ "$(rc XLEN mf:q:image)" = "$FILES" ]; do sleep 0.05; done
    kill -TERM "$pid" && wait "$pid" || true
    sync
    t0=$(now)
    MF_INBOX=$d/inbox MF_OUTBOX=$d/outbox "$BIN/mf-worker-image" >"$W/worker.log" 2>&1 &
    pid=$!
    while [ "$n" -lt "$FILES" ]; do
        sleep 0.02
        n=$(rc EVAL "$TERMINAL_LUA" 1 mf:paths 2>/dev/null || echo 0)
    done
    t1=$(now)
    c=$(cpu_tree "$pid")
    kill -TERM "$pid" && wait "$pid" || true
    awk -v a="$t0" -v b="$t1" -v c="$c" 'BEGIN {printf "fleet %.3f %s\n", b - a, c}' >>"$W/times"
    F_OUT=$(find "$d/outbox" -name '*.webp' | wc -l)
    F_DONE=$(rc EVAL "return #redis.call('KEYS', 'mf:file:*')" 0)
}

bench_redis
: >"$W/times"
for _ in $(seq "$RUNS"); do
    timed stock run_stock "Q=80"
    timed same run_stock "Q=80,effort=1"
    timed ours run_ours
    run_fleet
done
n_out=$(find "$W/ours" -name '*.webp' | wc -l)
run_stock "Q=80"
n_stock=$(find "$W/stock" -name '*.webp' | wc -l)
col() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$W/times"; }
m_ours=$(median $(col ours 2)) c_ours=$(median $(col ours 3))
m_stock=$(median $(col stock 2)) c_stock=$(median $(col stock 3))
m_same=$(median $(col same 2)) c_same=$(median $(col same 3))
m_fleet=$(median $(col fleet 2)) c_fleet=$(median $(col fleet 3))
tps_fleet=$(awk -v n="$FILES" -v t="$m_fleet" 'BEGIN {printf "%.1f", 2 * n / t}')
tps_ours=$(awk -v n="$FILES" -v t="$m_ours" 'BEGIN {printf "%.1f", 2 * n / t}')
tps_stock=$(awk -v n="$FILES" -v t="$m_stock" 'BEGIN {printf "%.1f", 2 * n / t}')
speedup=$(ratio "$m_stock" "$m_ours")
speedup_fleet=$(ratio "$m_stock" "$m_fleet")

vips gaussnoise "$W/big.v" 10000 10000 --mean 128 --sigma 40
vips copy "$W/big.v" "$W/big.jpg[Q=85]"
rm -f "$W/big.v"
rss_ours=$(peak_rss_mb "$BIN/mf-worker-image" process "$W/big.jpg" --out "$W/big-out")
rss_stock=$(peak_rss_mb vipsthumbnail "$W/big.jpg" -s 1280 -o "$W/big-%s.webp")

summary="files=$FILES outputs fleet=$F_OUT one-shot=$n_out stock=$n_stock; median of $RUNS. Fleet worker (one mf-worker-image fed by the queue, as deployed): ${m_fleet}s ($tps_fleet thumbnails/s, cpu ${c_fleet}s): ${speedup_fleet}x vipsthumbnail x2 (cpu $(ratio "$c_stock" "$c_fleet")x), $(ratio "$m_same" "$m_fleet")x vipsthumbnail x2 at effort 1 (cpu $(ratio "$c_same" "$c_fleet")x). One-shot (mf-worker-image process, a process per file): ${m_ours}s ($tps_ours thumbnails/s, cpu ${c_ours}s): ${speedup}x (cpu $(ratio "$c_stock" "$c_ours")x), $(ratio "$m_same" "$m_ours")x at effort 1 (cpu $(ratio "$c_same" "$c_ours")x). vipsthumbnail x2 ${m_stock}s ($tps_stock thumbnails/s, cpu ${c_stock}s), at effort 1 ${m_same}s (cpu ${c_same}s). Peak RSS 100 MP JPEG: ours ${rss_ours} MB, vipsthumbnail ${rss_stock} MB"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/image.sh $FILES $RUNS\` (4000x3000 3-band JPEGs; two WebP sizes each; vipsthumbnail as a shell pipeline runs it, a process per file and size; ours with its default image_webp_effort=1, faces and pHash on, vipsthumbnail at its default effort 4 and again at effort 1)"
        echo "- result: $summary"
        echo "- targets: >= 1.7x vipsthumbnail doing both sizes; <= 150 MB peak RSS on 100 MP"
        echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$W/section.md"
    results_section "Image thumbnails" "$W/section.md"
fi
