# Doc lane, OCR: pages without a text layer are recognised automatically (upright and upside
# down), pages with one are not; the `ocr` profile OCRs every page and writes a searchable PDF
# whose text layer pdftotext reads back.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT

run() { # run NAME [--profile P]: processes $T/NAME.pdf into $T/NAME/
    local name=$1
    shift
    "$MF_BIN_DIR/mf-worker-doc" process "$T/$name.pdf" --out "$T/$name" "$@" >"$T/$name.json" ||
        mf_fail "$name: process exited $?: $(cat "$T/$name.json")"
    mf_assert_eq "$(jq -cr '.status' "$T/$name.json")" done "$name: status"
}

mk="$MF_BIN_DIR/mf-doc-mkfixture"
"$mk" lines >"$T/lines.txt"
"$mk" scan "$T/scan.pdf" 0 && "$mk" scan "$T/upside.pdf" 180 && "$mk" mixed "$T/mixed.pdf" &&
    "$mk" text "$T/two.pdf" 2 || mf_fail "fixtures"
[ -z "$(pdftotext "$T/scan.pdf" - | tr -d '[:space:]')" ] || mf_fail "scan fixture has a text layer"

for name in scan upside; do
    run "$name"
    mf_assert_eq "$(jq -cr '.meta.ocr.pages' "$T/$name.json")" 1 "$name: OCRed pages"
    mf_similar "$T/$name/text.txt" "$T/lines.txt" 0.9 || mf_fail "$name: OCR text differs from the known text"
    jq -e '.meta.ocr.mean_confidence >= 70' "$T/$name.json" >/dev/null ||
        mf_fail "$name: confidence $(jq '.meta.ocr.mean_confidence' "$T/$name.json")"
done
mf_assert_eq "$(jq -cr '.meta.ocr.rotated_pages' "$T/upside.json")" 1 "upside: rotated pages"

# quality matches the stock CLI on the same pages: pdftoppm -r 300 | tesseract
for name in scan upside; do
    pdftoppm -r 300 -gray -png "$T/$name.pdf" "$T/$name-cli" &&
        OMP_THREAD_LIMIT=1 tesseract "$T/$name-cli-1.png" "$T/$name-cli" >/dev/null 2>&1 ||
        mf_fail "$name: the tesseract CLI failed"
    ours=$(mf_text_score "$T/$name/text.txt" "$T/lines.txt")
    cli=$(mf_text_score "$T/$name-cli.txt" "$T/lines.txt")
    mf_log "$name: similarity to the known text: ours $ours, tesseract CLI $cli"
    awk -v o="$ours" -v c="$cli" 'BEGIN {exit !(o >= c - 0.02)}' ||
        mf_fail "$name: our OCR ($ours) is worse than the tesseract CLI ($cli)"
done

run mixed
mf_assert_eq "$(jq -cr '.meta.ocr.page_numbers' "$T/mixed.json")" "[2]" "mixed: only page 2 OCRed"
# Page 1 from the text layer, page 2 from OCR: each page is the known text (+ "Page 1").
csplit -s -f "$T/mixed/p" "$T/mixed/text.txt" $'/\f/' || mf_fail "mixed: no form feed"
mf_similar "$T/mixed/p01" "$T/lines.txt" 0.9 || mf_fail "mixed: page 2 text"

# Blank pages without a text layer are seen to be blank, not recognised (a 2,000-page blank
# PDF would otherwise cost minutes); they still get their form feed.
"$mk" blank "$T/blank.pdf" 3 || mf_fail "blank fixture"
run blank
mf_assert_eq "$(jq -c '.meta.ocr | [.pages, .blank_pages]' "$T/blank.json")" "[3,3]" "blank pages"
mf_assert_eq "$(tr -cd '\f' <"$T/blank/text.txt" | wc -c)" 3 "blank: form feeds"

run two --profile ocr
mf_assert_eq "$(jq -cr '.meta.ocr.page_numbers' "$T/two.json")" "[1,2]" "ocr profile: every page OCRed"
mf_assert_eq "$(jq -cr '.outputs[3]' "$T/two.json")" searchable.pdf "ocr profile: outputs"
mf_assert_eq "$(pdfinfo "$T/two/searchable.pdf" | awk '/^Pages:/{print $2}')" 2 "searchable.pdf pages"
pdftotext "$T/two/searchable.pdf" "$T/searchable.txt"
pdftotext "$T/two.pdf" "$T/two.txt"
mf_similar "$T/searchable.txt" "$T/two.txt" 0.9 || mf_fail "searchable.pdf text layer"
ls -a "$T/two" | grep -q '^\.searchable' && mf_fail "temporary searchable PDF left behind"
mf_pass
