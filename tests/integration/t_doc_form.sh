# Doc lane, issue 15 item 7: the values of a filled-in PDF form are in text.txt where pdftotext
# prints them, and meta.form_fields lists every field with its value. Fixture: a page with
# two filled text fields and a ticked checkbox, each widget with its appearance stream,
# written byte by byte by tests/fixtures/doc/mkform.py.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT

python3 "$(dirname "$0")/../fixtures/doc/mkform.py" form "$T/form.pdf" || mf_fail "fixture"
"$MF_BIN_DIR/mf-worker-doc" process "$T/form.pdf" --out "$T/out" >"$T/rec.json" ||
    mf_fail "process exited $?: $(cat "$T/rec.json")"
mf_assert_eq "$(jq -cr '.status' "$T/rec.json")" done "status"

# the values, as a person reading text.txt looks for them, and pdftotext's text exactly
grep -qx "Jane Doe" "$T/out/text.txt" || mf_fail "text.txt lacks the value 'Jane Doe'"
grep -qx "Lisbon" "$T/out/text.txt" || mf_fail "text.txt lacks the value 'Lisbon'"
grep -q "Application form" "$T/out/text.txt" || mf_fail "text.txt lacks the page's own text"
pdftotext "$T/form.pdf" "$T/ref.txt"
cmp -s "$T/out/text.txt" "$T/ref.txt" ||
    mf_fail "text.txt differs from pdftotext: $(diff "$T/out/text.txt" "$T/ref.txt" | head -5)"

mf_assert_eq "$(jq -c '.meta.form_fields' "$T/rec.json")" \
    '[{"name":"full_name","type":"text","value":"Jane Doe","page":1},{"name":"city","type":"text","value":"Lisbon","page":1},{"name":"subscribe","type":"checkbox","value":true,"page":1}]' \
    "meta.form_fields"
# the excerpt in the record carries the values too
jq -r '.meta.text' "$T/rec.json" | grep -q "Jane Doe" || mf_fail "meta.text lacks 'Jane Doe'"
mf_assert_eq "$(jq -cr '.meta.ocr' "$T/rec.json")" null "no OCR on a page with text"

# a PDF without a form has no form_fields
"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/plain.pdf" 1 || mf_fail "fixture"
"$MF_BIN_DIR/mf-worker-doc" process "$T/plain.pdf" --out "$T/plain" >"$T/rec.json" ||
    mf_fail "plain.pdf failed"
mf_assert_eq "$(jq -cr '.meta.form_fields' "$T/rec.json")" null "plain PDF: form_fields"
mf_pass
