# Doc lane through the fleet: mf-dispatcher notices PDFs dropped into the inbox, classifies
# them (application/pdf -> doc) and queues them; a running mf-worker-doc processes them. The
# records users read with redis-cli say done with outputs that exist; a PDF dropped in the ocr
# folder gets the ocr profile (searchable.pdf); a password-protected one fails at once.
source "$(dirname "$0")/lib.sh"
for b in mf-dispatcher mf-worker-doc mf-doc-mkfixture; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
FIX="$(cd "$(dirname "$0")/../fixtures/doc" && pwd)"
mf_setup
"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/report.pdf" 2 && "$MF_BIN_DIR/mf-doc-mkfixture" scan "$T/scan.pdf" ||
    mf_fail "fixtures"

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-doc"
sleep 0.5
mf_drop docs/report.pdf "$T/report.pdf"
mf_drop ocr/scan.pdf "$T/scan.pdf"
mf_drop locked.pdf "$FIX/user-password.pdf"
"$MF_BIN_DIR/mf-doc-mkfixture" png "$T/page.png" || mf_fail "png fixture"
mf_drop ocr/page.png "$T/page.png"

mf_expect_status docs/report.pdf done 60
id=$(id_of docs/report.pdf)
mf_assert_eq "$(field "$id" type)" doc "type"
mf_assert_eq "$(field "$id" outputs)" "[\"$id/page-0001.png\",\"$id/page-0002.png\",\"$id/text.txt\"]" "outputs"
mf_assert_eq "$(field "$id" meta | jq -c '[.pages, .page_chars]')" '[2,[171,171]]' "meta"
grep -q "Sphinx of black quartz" "$MF_OUTBOX/$id/text.txt" || mf_fail "text.txt lacks the text"
mf_assert_eq "$(jq -r .status "$MF_OUTBOX/$id/meta.json")" done "meta.json status"

mf_expect_status ocr/scan.pdf done 120
scan=$(id_of ocr/scan.pdf)
mf_assert_eq "$(field "$scan" profile)" ocr "profile"
mf_assert_eq "$(field "$scan" meta | jq -c '.ocr.page_numbers')" '[1]' "OCRed pages"
[ -s "$MF_OUTBOX/$scan/searchable.pdf" ] || mf_fail "searchable.pdf missing"
pdftotext "$MF_OUTBOX/$scan/searchable.pdf" - | grep -q "quick brown fox" ||
    mf_fail "searchable.pdf has no text layer"

# a scanned page as an image in the ocr folder is a document to read (profile_routes)
mf_expect_status ocr/page.png done 120
page=$(id_of ocr/page.png)
mf_assert_eq "$(field "$page" type)" doc "type of an image in the ocr folder"
mf_assert_eq "$(field "$page" mime)" image/png "mime"
[ -s "$MF_OUTBOX/$page/text.txt" ] || mf_fail "no text.txt for the scanned page image"

mf_expect_status locked.pdf failed 60
locked=$(id_of locked.pdf)
mf_assert_eq "$(field "$locked" error)" "PDF is password-protected (user password required)" "error"
mf_assert_eq "$(field "$locked" attempts)" 1 "attempts of a permanent failure"
mf_pass
