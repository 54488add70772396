# Doc lane, text layer: a 5-page PDF with known sentences through `mf-worker-doc process`.
# Asserts what a user reads: page count as pdfinfo says, text.txt equal to pdftotext's (byte
# for byte) with one form feed per page, thumbnails of the first 3 pages only (longest side
# 1024 px), document metadata, and no OCR on pages that have text.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT

"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/five.pdf" 5 || mf_fail "fixture"
"$MF_BIN_DIR/mf-worker-doc" process "$T/five.pdf" --out "$T/out" >"$T/rec.json" ||
    mf_fail "process exited $?: $(cat "$T/rec.json")"

mf_assert_eq "$(jq -cr '.status' "$T/rec.json")" done "status"
mf_assert_eq "$(jq -cr '.meta.pages' "$T/rec.json")" "$(pdfinfo "$T/five.pdf" | awk '/^Pages:/{print $2}')" "pages vs pdfinfo"
mf_assert_eq "$(jq -cr '.meta.pdf_version' "$T/rec.json")" "$(pdfinfo "$T/five.pdf" | awk '/^PDF version:/{print $3}')" "pdf_version vs pdfinfo"
mf_assert_eq "$(jq -cr '.meta.page_size' "$T/rec.json")" '{"width":420,"height":300}' "page_size"
mf_assert_eq "$(jq -cr '.meta.encrypted' "$T/rec.json")" false "encrypted"
mf_assert_eq "$(jq -cr '.meta.ocr' "$T/rec.json")" null "no OCR on text pages"
mf_assert_eq "$(jq -cr '.meta.page_chars[4]' "$T/rec.json")" 171 "visible characters of page 5"
mf_assert_eq "$(jq -cr '.outputs' "$T/rec.json")" \
    '["page-0001.png","page-0002.png","page-0003.png","text.txt"]' "outputs"

pdftotext "$T/five.pdf" "$T/ref.txt"
cmp -s "$T/out/text.txt" "$T/ref.txt" ||
    mf_fail "text.txt differs from pdftotext: $(diff "$T/out/text.txt" "$T/ref.txt" | head -5)"
mf_assert_eq "$(tr -cd '\f' <"$T/out/text.txt" | wc -c)" 5 "form feeds (one per page)"
grep -q "Page 5" "$T/out/text.txt" || mf_fail "text of the last page missing"

for n in 1 2 3; do
    f="$T/out/page-000$n.png"
    [ "$(vipsheader -f width "$f")" = 1024 ] || mf_fail "$f: width $(vipsheader -f width "$f"), want 1024"
    [ "$(vipsheader -f height "$f")" -le 1024 ] || mf_fail "$f: taller than 1024"
done
[ ! -e "$T/out/page-0004.png" ] || mf_fail "page 4 rendered; only the first 3 should be"
[ -s "$T/out/meta.json" ] || mf_fail "meta.json missing"
mf_pass
