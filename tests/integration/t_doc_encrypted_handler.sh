# Doc lane, issue 15 item 6: a PDF encrypted with a security handler poppler cannot open is a
# `failed` record saying so, never `done` with a blank page OCRed at confidence 0. Fixtures:
# a page with known text encrypted by qpdf (AES-256, no user password: it must still open),
# then its encryption dictionary rewritten (tests/fixtures/doc/mkform.py) to name the
# public-key handler /Adobe.PubSec, an unknown /Filter, and the Standard handler at a version
# (9) no reader implements -- the last one poppler opens as if it were not encrypted; and the
# same for a linearized file with cross-reference streams.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
command -v qpdf >/dev/null || mf_fail "qpdf missing (deploy/install-deps.sh)"
MK="$(dirname "$0")/../fixtures/doc/mkform.py"

"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/one.pdf" 1 || mf_fail "fixture"
qpdf --encrypt "" owner-secret 256 -- "$T/one.pdf" "$T/aes256.pdf" || mf_fail "qpdf --encrypt"
python3 "$MK" handler "$T/aes256.pdf" "$T/pubsec.pdf" Adobe.PubSec || mf_fail "fixture pubsec"
python3 "$MK" handler "$T/aes256.pdf" "$T/unknown.pdf" Vendor.Lock || mf_fail "fixture unknown"
python3 "$MK" version "$T/aes256.pdf" "$T/v9.pdf" || mf_fail "fixture v9"
# linearized with cross-reference streams: /Encrypt only in the first page's xref stream
qpdf --object-streams=generate --linearize --encrypt "" owner-secret 256 -- \
    "$T/one.pdf" "$T/lin.pdf" || mf_fail "qpdf --linearize"
python3 "$MK" version "$T/lin.pdf" "$T/lin-v9.pdf" || mf_fail "fixture lin-v9"
python3 "$MK" handler "$T/lin.pdf" "$T/lin-pubsec.pdf" Adobe.PubSec || mf_fail "fixture lin-pubsec"

# the readable originals: done, with their text (an encrypted file poppler opens is no error)
for f in aes256 lin; do
    "$MF_BIN_DIR/mf-worker-doc" process "$T/$f.pdf" --out "$T/out-$f" >"$T/rec.json" ||
        mf_fail "$f.pdf failed: $(cat "$T/rec.json")"
    grep -q "quick brown fox" "$T/out-$f/text.txt" || mf_fail "$f.pdf: text missing"
    mf_assert_eq "$(jq -cr '.meta.encrypted' "$T/rec.json")" true "$f.pdf: meta.encrypted"
done

# expect_handler FILE DETAIL: failed, exit 1, the error, no text.txt
expect_handler() {
    local name rc=0
    name=$(basename "$1")
    timeout 60 "$MF_BIN_DIR/mf-worker-doc" process "$1" --out "$T/out-$name" >"$T/rec.json" || rc=$?
    mf_assert_eq "$rc" 1 "$name: exit status"
    mf_assert_eq "$(jq -cr '.status' "$T/rec.json")" failed "$name: status"
    mf_assert_eq "$(jq -cr '.error' "$T/rec.json")" \
        "PDF is encrypted with a security handler that cannot be opened ($2)" "$name: error"
    [ ! -e "$T/out-$name/text.txt" ] || mf_fail "$name: text.txt written"
    mf_assert_eq "$(jq -cr '.meta.ocr' "$T/rec.json")" null "$name: OCRed"
}
expect_handler "$T/pubsec.pdf" "/Adobe.PubSec, a certificate-based handler"
expect_handler "$T/unknown.pdf" "/Vendor.Lock"
expect_handler "$T/v9.pdf" "/Standard version 9 revision 6, which poppler does not implement"
expect_handler "$T/lin-v9.pdf" "/Standard version 9 revision 6, which poppler does not implement"
expect_handler "$T/lin-pubsec.pdf" "/Adobe.PubSec, a certificate-based handler"

# the user-password case keeps its own words: the handler is known, the password is not
rc=0
"$MF_BIN_DIR/mf-worker-doc" process "$(dirname "$0")/../fixtures/doc/user-password.pdf" \
    --out "$T/out-user" >"$T/rec.json" || rc=$?
mf_assert_eq "$(jq -cr '.error' "$T/rec.json")" \
    "PDF is password-protected (user password required)" "user-password.pdf: error"
mf_pass
