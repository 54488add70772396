#!/usr/bin/env bash
# Doc lane against the stock tools, on the same pages in the same run (median of 3 runs):
#   text: `mf-worker-doc process` on a text PDF   vs  `pdftotext`
#   OCR:  `mf-worker-doc process` on a scanned PDF vs  `pdftoppm -r 300 -gray` + `tesseract` per page
# Both sides run with OMP_THREAD_LIMIT=1. The lane's runs include everything a job does (open,
# metadata, 3 page thumbnails, text.txt, meta.json, and loading the OCR model, which a running
# worker does once per executor, not once per file), so the ratios are conservative.
# Writes the "Document" section of bench/RESULTS.md. Usage: MF_BIN_DIR=build/bin bench/doc.sh
source "$(dirname "$0")/lib.sh"
TEXT_PAGES=${TEXT_PAGES:-2000}
OCR_PAGES=${OCR_PAGES:-10}
export OMP_THREAD_LIMIT=1

for tool in pdftotext pdftoppm tesseract; do
    command -v "$tool" >/dev/null || { echo "bench/doc.sh: $tool not installed" >&2; exit 2; }
done
[ -x "$BIN/mf-worker-doc" ] && [ -x "$BIN/mf-doc-mkfixture" ] ||
    { echo "bench/doc.sh: build mf-worker-doc and mf-doc-mkfixture first ($BIN)" >&2; exit 2; }

# secs CMD...: "wall cpu" seconds of one run of CMD (output discarded); cpu = user + sys of
# CMD and its children, which a machine shared with other work disturbs less than wall time.
secs() {
    local t
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1) ||
        { echo "bench/doc.sh: failed: $*" >&2; exit 1; }
    awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }' <<<"$t"
}
# median3 CMD...: "wall cpu", each the median of its column over 3 runs.
median3() {
    local runs
    runs=$({ secs "$@"; secs "$@"; secs "$@"; })
    echo "$(awk '{ print $1 }' <<<"$runs" | sort -g | sed -n 2p)" \
        "$(awk '{ print $2 }' <<<"$runs" | sort -g | sed -n 2p)"
}

lane() { rm -rf "$W/out"; "$BIN/mf-worker-doc" process "$1" --out "$W/out"; }
stock_text() { pdftotext "$1" "$W/stock.txt"; }
stock_ocr() {
    local f
    rm -f "$W"/pg-*.pgm
    pdftoppm -r 300 -gray "$1" "$W/pg"
    for f in "$W"/pg-*.pgm; do tesseract "$f" "$f" >/dev/null 2>&1; done
}

"$BIN/mf-doc-mkfixture" text "$W/text.pdf" "$TEXT_PAGES"
"$BIN/mf-doc-mkfixture" scan "$W/scan.pdf" 0 "$OCR_PAGES"

read -r t_lane _ <<<"$(median3 lane "$W/text.pdf")"
read -r t_stock _ <<<"$(median3 stock_text "$W/text.pdf")"
read -r o_lane oc_lane <<<"$(median3 lane "$W/scan.pdf")"
read -r o_stock oc_stock <<<"$(median3 stock_ocr "$W/scan.pdf")"
# A one-page job: the fixed cost per file (process start, OCR model load, one thumbnail) that a
# running worker pays once per executor instead.
"$BIN/mf-doc-mkfixture" text "$W/one.pdf" 1
read -r t_one _ <<<"$(median3 lane "$W/one.pdf")"
read -r t_stock_one _ <<<"$(median3 stock_text "$W/one.pdf")"

# Peak RSS (GNU time %M, KB) of one run: memory must not grow with the page count
# (tests/integration/t_doc_large.sh holds the 300-page job under 200 MB).
peak_kb() {
    [ -x /usr/bin/time ] || { echo "?"; return; }
    rm -rf "$W/out"
    /usr/bin/time -f %M -o "$W/rss" "$@" >/dev/null 2>&1 ||
        { echo "bench/doc.sh: failed: $*" >&2; exit 1; }
    tail -n 1 "$W/rss"
}
"$BIN/mf-doc-mkfixture" text "$W/t300.pdf" 300
rss_one=$(peak_kb "$BIN/mf-worker-doc" process "$W/one.pdf" --out "$W/out")
rss_300=$(peak_kb "$BIN/mf-worker-doc" process "$W/t300.pdf" --out "$W/out")
rss_all=$(peak_kb "$BIN/mf-worker-doc" process "$W/text.pdf" --out "$W/out")
rss_stock=$(peak_kb pdftotext "$W/t300.pdf" "$W/stock.txt")

report() {
    awk -v tp="$TEXT_PAGES" -v op="$OCR_PAGES" -v tl="$t_lane" -v ts="$t_stock" \
        -v ol="$o_lane" -v os="$o_stock" -v ocl="$oc_lane" -v ocs="$oc_stock" \
        -v one="$t_one" -v sone="$t_stock_one" -v r1="$rss_one" -v r300="$rss_300" \
        -v rall="$rss_all" -v rstock="$rss_stock" 'BEGIN {
        printf "| work | pages | mf-worker-doc pages/s | stock pages/s | ratio (lane/stock) |\n"
        printf "|---|---:|---:|---:|---:|\n"
        printf "| text layer (vs pdftotext) | %d | %.1f | %.1f | %.2fx |\n", tp, tp / tl, tp / ts, ts / tl
        printf "| OCR 300 dpi (vs pdftoppm + tesseract) | %d | %.2f | %.2f | %.2fx |\n", op, op / ol, op / os, os / ol
        printf "| OCR, CPU time instead of wall | %d | %.2f | %.2f | %.2fx |\n", op, op / ocl, op / ocs, ocs / ocl
        printf "\nOne-page text PDF, whole job: mf-worker-doc %.3f s (process start, OCR model load, a\n", one
        printf "thumbnail, meta.json), pdftotext %.3f s.\n", sone
        printf "\nPeak RSS of a one-shot text job (GNU time %%M): 1 page %.1f MB, 300 pages %.1f MB,\n", r1 / 1024, r300 / 1024
        printf "%d pages %.1f MB (pdftotext on the 300 pages: %.1f MB).\n", tp, rall / 1024, rstock / 1024
    }'
}

{
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
    echo "- command: \`bench/doc.sh\` (TEXT_PAGES=$TEXT_PAGES OCR_PAGES=$OCR_PAGES)"
    echo
    echo "$(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "poppler $(pkg-config --modversion poppler-glib 2>/dev/null || echo '?'), $(tesseract --version 2>&1 | head -1), OMP_THREAD_LIMIT=1, median of 3."
    echo
    report
    echo
    echo "Lane runs are one-shot (\`mf-worker-doc process\`): each includes process start, OCR model"
    echo "load, metadata, 3 thumbnails and meta.json. Stock OCR reads pdftoppm's PGM (no PNG"
    echo "encode/decode), the cheapest input the CLI accepts."
} >"$W/section.md"
cat "$W/section.md"
[ -n "${BENCH_NO_RESULTS:-}" ] || results_section "Document" "$W/section.md"
