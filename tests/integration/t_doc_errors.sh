# Doc lane, bad inputs: each one is a `failed` record with an error a person understands and
# exit status 1, never a crash or a hang. An owner-password-only PDF is not an error.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
FIX="$(cd "$(dirname "$0")/../fixtures/doc" && pwd)"

# expect_failed FILE SUBSTRING
expect_failed() {
    local rc=0
    timeout 60 "$MF_BIN_DIR/mf-worker-doc" process "$1" --out "$T/out-$(basename "$1")" \
        >"$T/rec.json" || rc=$?
    mf_assert_eq "$rc" 1 "$(basename "$1"): exit status"
    mf_assert_eq "$(jq -cr '.status' "$T/rec.json")" failed "$(basename "$1"): status"
    case "$(jq -cr '.error' "$T/rec.json")" in
    "$2"*) ;;
    *) mf_fail "$(basename "$1"): error '$(jq -cr '.error' "$T/rec.json")' does not start with '$2'" ;;
    esac
    # what failed in a person's terms, then poppler's words: never an fd or an internal path
    case "$(jq -cr '.error' "$T/rec.json")" in
    *"/proc/"* | *"fd "* | *"()"*) mf_fail "$(basename "$1"): internal words in '$(jq -cr '.error' "$T/rec.json")'" ;;
    esac
}

"$MF_BIN_DIR/mf-doc-mkfixture" text "$T/good.pdf" 3 || mf_fail "fixture"
: >"$T/empty.pdf"
head -c 3000 "$T/good.pdf" >"$T/truncated.pdf"
printf 'Dear diary,\nthis is not a PDF.\n' >"$T/notes.pdf"
"$MF_BIN_DIR/mf-doc-mkfixture" blank "$T/long.pdf" 2001 || mf_fail "fixture"

expect_failed "$T/empty.pdf" "PDF cannot be opened: the file is empty"
expect_failed "$T/truncated.pdf" "PDF cannot be opened: PDF document is damaged"
expect_failed "$T/notes.pdf" "PDF cannot be opened: PDF document is damaged"
expect_failed "$FIX/user-password.pdf" "PDF is password-protected (user password required)"
expect_failed "$T/long.pdf" "PDF has 2001 pages, over the limit of 2000 pages"

"$MF_BIN_DIR/mf-worker-doc" process "$FIX/owner-password.pdf" --out "$T/owner" >"$T/rec.json" ||
    mf_fail "owner-password PDF failed: $(cat "$T/rec.json")"
mf_assert_eq "$(jq -cr '.meta.encrypted' "$T/rec.json")" true "owner-password: encrypted"
grep -q "quick brown fox" "$T/owner/text.txt" || mf_fail "owner-password: text missing"
mf_pass
