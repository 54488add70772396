# Large PDFs: a 300-page text PDF finishes within the lane's limits and its memory does not grow
# with the page count. The one-shot worker's record says done with 300 pages, text.txt holds 300
# pages separated the way pdftotext separates them (a form feed after every page), and its peak
# RSS (GNU time %M) stays under MF_DOC_LARGE_MAX_KB.
#
# The bound, measured on Debian 12 (poppler 22.12, tesseract 5.3; 2026-11-22): a 1-page job
# peaks at 45 MB (process, the OCR model loaded at init, one 1024 px thumbnail), 300 pages at
# 45 MB, 2,000 pages at 48 MB: pages are opened, read and released one at a time and only
# text.txt (~230 bytes a page here) grows. 200 MB is 4x that, room for a sanitizer build;
# keeping every page's render (3 MB each) or PopplerPage alive would break it. The growth over
# a 1-page job is also bounded (32 MB), which holds whatever the build's baseline is.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
for b in mf-worker-doc mf-doc-mkfixture; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
[ -x /usr/bin/time ] || mf_fail "GNU time (/usr/bin/time) not installed"
MAX_KB=${MF_DOC_LARGE_MAX_KB:-204800}
GROWTH_KB=32768

"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/book.pdf" 300 &&
    "$MF_BIN_DIR/mf-doc-mkfixture" text "$T/leaflet.pdf" 1 || mf_fail "fixtures"

# peak_kb PDF OUTDIR: runs the one-shot worker (record in OUTDIR.json), prints its peak RSS.
# Under AddressSanitizer freed memory waits in a quarantine (256 MB) and would read as growth:
# it is turned off so the figure is live memory (the option means nothing to other builds).
peak_kb() {
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" \
        /usr/bin/time -f %M -o "$2.rss" timeout 120 "$MF_BIN_DIR/mf-worker-doc" process "$1" \
        --out "$2" >"$2.json" || mf_fail "$(basename "$1"): $(cat "$2.json")"
    tail -n 1 "$2.rss"
}
one=$(peak_kb "$T/leaflet.pdf" "$T/one")
big=$(peak_kb "$T/book.pdf" "$T/big")
mf_log "peak RSS: 1 page ${one} KB, 300 pages ${big} KB"

mf_assert_eq "$(jq -r .status "$T/big.json")" done "status"
mf_assert_eq "$(jq -r .meta.pages "$T/big.json")" 300 "meta.pages"
mf_assert_eq "$(jq -r '.meta.page_chars | length' "$T/big.json")" 300 "page_chars entries"
ff() { tr -cd '\f' <"$1" | wc -c; }
pdftotext "$T/book.pdf" "$T/stock.txt" || mf_fail "pdftotext"
mf_assert_eq "$(ff "$T/big/text.txt")" "$(ff "$T/stock.txt")" "form feeds, as pdftotext"
mf_assert_eq "$(ff "$T/big/text.txt")" 300 "form feeds"
grep -q "^Page 300$" "$T/big/text.txt" || mf_fail "text.txt lacks the last page"
[ "$big" -lt "$MAX_KB" ] || mf_fail "300 pages peaked at $big KB, over $MAX_KB KB"
[ "$big" -lt $((one + GROWTH_KB)) ] ||
    mf_fail "300 pages peaked at $big KB, 1 page at $one KB: memory grows with pages"
mf_pass
