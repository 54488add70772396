#!/usr/bin/env bash
# Image lane: thumbnails/s of the one-shot worker (thumb-256 + preview-1280 from ONE decode)
# against vipsthumbnail producing the same two sizes (two runs, two decodes) on the same
# files in the same run; peak RSS on a 100 MP JPEG for both.
# Usage: bench/image.sh [FILES] [RUNS]   (default 12 photos of 4000x3000, 3 runs)
source "$(dirname "$0")/lib.sh"
FILES=${1:-12}
RUNS=${2:-3}
mkdir -p "$W/in"
for i in $(seq "$FILES"); do
    vips gaussnoise "$W/n.v" 4000 3000 --mean 128 --sigma 60 --seed "$i"
    vips gaussblur "$W/n.v" "$W/in/p$i.jpg[Q=90]" 2
done
rm -f "$W/n.v"

run_ours() {
    local f
    for f in "$W"/in/*.jpg; do
        "$BIN/mf-worker-image" process "$f" --out "$W/ours/$(basename "$f")" >/dev/null
    done
}
run_stock() {
    local f
    for f in "$W"/in/*.jpg; do
        vipsthumbnail "$f" -s 1280 -o "$W/stock/%s-preview-1280.webp[Q=80]"
        vipsthumbnail "$f" -s 256 -o "$W/stock/%s-thumb-256.webp[Q=80]"
    done
}
ours=() stock=()
for _ in $(seq "$RUNS"); do
    rm -rf "$W/ours" "$W/stock" && mkdir -p "$W/ours" "$W/stock"
    t0=$(now); run_stock; t1=$(now); run_ours; t2=$(now)
    stock+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    ours+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')")
done
m_ours=$(median "${ours[@]}")
m_stock=$(median "${stock[@]}")
n_out=$(find "$W/ours" -name '*.webp' | wc -l)
n_stock=$(find "$W/stock" -name '*.webp' | wc -l)
tps_ours=$(awk -v n="$FILES" -v t="$m_ours" 'BEGIN {printf "%.1f", 2 * n / t}')
tps_stock=$(awk -v n="$FILES" -v t="$m_stock" 'BEGIN {printf "%.1f", 2 * n / t}')
speedup=$(ratio "$m_stock" "$m_ours")

vips gaussnoise "$W/big.v" 10000 10000 --mean 128 --sigma 40
vips copy "$W/big.v" "$W/big.jpg[Q=85]"
rm -f "$W/big.v"
rss_ours=$(peak_rss_mb "$BIN/mf-worker-image" process "$W/big.jpg" --out "$W/big-out")
rss_stock=$(peak_rss_mb vipsthumbnail "$W/big.jpg" -s 1280 -o "$W/big-%s.webp")

summary="files=$FILES outputs ours=$n_out stock=$n_stock; median of $RUNS: ours ${m_ours}s ($tps_ours thumbnails/s), vipsthumbnail x2 ${m_stock}s ($tps_stock thumbnails/s); speedup ${speedup}x; peak RSS 100 MP JPEG: ours ${rss_ours} MB, vipsthumbnail ${rss_stock} MB"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/image.sh $FILES $RUNS\` (4000x3000 JPEGs; two WebP sizes each)"
        echo "- result: $summary"
        echo "- targets: >= 1.7x vipsthumbnail doing both sizes; <= 150 MB peak RSS on 100 MP"
    } >"$W/section.md"
    results_section "Image thumbnails (one-shot worker)" "$W/section.md"
fi
