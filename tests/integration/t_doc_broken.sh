# Broken PDFs never crash or hang the doc lane. 30 variants of a real PDF, each with bytes
# flipped inside its streams (page contents, fonts, the scanned image: deterministic seeds
# 1..30), 5 truncations, and a PDF whose page tree loops back on itself, each end with a record
# whose status is done or failed (exit status 0 or 1, within `timeout 30`); a failed one says
# first what failed (the PDF, or which page), with no internal path or fd in its error, and a
# truncation that fails says the file is cut short.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
for b in mf-worker-doc mf-doc-mkfixture; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
command -v python3 >/dev/null || mf_fail "python3 not installed"
VARIANTS=30

# run_one PDF: the one-shot worker on PDF; fails the test unless it ends in a terminal record.
# Prints the status.
run_one() {
    local name rc=0
    name=$(basename "$1" .pdf)
    timeout 30 "$MF_BIN_DIR/mf-worker-doc" process "$1" --out "$T/out-$name" \
        >"$T/$name.json" 2>"$T/$name.err" || rc=$?
    case $rc in
    0 | 1) ;;
    124) mf_fail "$name: still running after 30 s" ;;
    *) mf_fail "$name: exit status $rc (crash?): $(tail -n 3 "$T/$name.err")" ;;
    esac
    local status error
    status=$(jq -r .status "$T/$name.json") || mf_fail "$name: no JSON record"
    error=$(jq -r '.error // ""' "$T/$name.json")
    case $status in
    done) [ "$rc" = 0 ] || mf_fail "$name: done but exit status $rc" ;;
    failed)
        [ -n "$error" ] || mf_fail "$name: failed without an error"
        # what failed in a person's terms first (the PDF, or which page), then the library's
        # words; never an internal path or an fd number
        case $error in
        "PDF "* | "page "*) ;;
        *) mf_fail "$name: error '$error' does not say first what failed" ;;
        esac
        case $error in
        *"/proc/"* | *" fd "* | *".tmp."*) mf_fail "$name: internal words in '$error'" ;;
        esac
        ;;
    *) mf_fail "$name: status '$status'" ;;
    esac
    echo "$status"
}

# mixed: page 1 a text layer (content stream + embedded font), page 2 only an image (OCRed)
"$MF_BIN_DIR/mf-doc-mkfixture" mixed "$T/good.pdf" || mf_fail "fixture"
mf_assert_eq "$(run_one "$T/good.pdf")" done "the unmutated PDF"

# mutate SRC OUT SEED: flips 1..16 bytes at random offsets inside SRC's stream bodies
mutate() {
    python3 - "$@" <<'PY'
import random, re, sys

src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = bytearray(open(src, "rb").read())
spans = [(m.end(), m.end() + data[m.end():].find(b"endstream"))
         for m in re.finditer(rb"stream\r?\n", bytes(data)) if data[m.start() - 3:m.start()] != b"end"]
spans = [(a, b) for a, b in spans if b > a]
rng = random.Random(seed)
for _ in range(rng.randint(1, 16)):
    a, b = rng.choice(spans)
    data[rng.randrange(a, b)] ^= rng.randint(1, 255)
open(out, "wb").write(bytes(data))
PY
}
done=0 failed=0
for seed in $(seq 1 $VARIANTS); do
    mutate "$T/good.pdf" "$T/fuzz-$seed.pdf" "$seed" || mf_fail "mutate $seed"
    cmp -s "$T/good.pdf" "$T/fuzz-$seed.pdf" && mf_fail "variant $seed is not mutated"
    case $(run_one "$T/fuzz-$seed.pdf") in
    done) done=$((done + 1)) ;;
    failed) failed=$((failed + 1)) ;;
    esac
done
mf_log "mutated PDFs: $done done, $failed failed"

# truncations at 10..90 % of the file: poppler rebuilds the cross-reference table or gives up
size=$(stat -c %s "$T/good.pdf")
for pct in 10 30 50 70 90; do
    head -c $((size * pct / 100)) "$T/good.pdf" >"$T/cut-$pct.pdf"
    # one that fails says the file is cut short, not only poppler's "damaged"
    if [ "$(run_one "$T/cut-$pct.pdf")" = failed ]; then
        err=$(jq -r .error "$T/cut-$pct.json")
        grep -qF "does not end with %%EOF: the file is cut short" <<<"$err" ||
            mf_fail "cut-$pct.pdf: error '$err' does not say it is cut short"
    fi
done

# mk_cyclic OUT: a 2-page PDF whose /Pages node lists itself as a kid (a loop in the page
# tree), with a correct xref table: offsets are taken from the bytes written so far.
mk_cyclic() {
    local out=$1 objs=() offs=() i body xref
    body='BT /F1 12 Tf 20 100 Td (cycle) Tj ET'
    objs[1]='<< /Type /Catalog /Pages 2 0 R >>'
    objs[2]='<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>'
    objs[3]='<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>'
    objs[4]=$(printf '<< /Length %d >>\nstream\n%s\nendstream' "${#body}" "$body")
    printf '%%PDF-1.4\n' >"$out"
    for i in 1 2 3 4; do
        offs[i]=$(stat -c %s "$out")
        printf '%d 0 obj\n%s\nendobj\n' "$i" "${objs[i]}" >>"$out"
    done
    xref=$(stat -c %s "$out")
    {
        printf 'xref\n0 5\n0000000000 65535 f \n'
        for i in 1 2 3 4; do printf '%010d 00000 n \n' "${offs[i]}"; done
        printf 'trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' "$xref"
    } >>"$out"
}
mk_cyclic "$T/cyclic.pdf"
# the file itself is sound apart from the loop: qpdf finds exactly that
if command -v qpdf >/dev/null; then
    case $(qpdf --check "$T/cyclic.pdf" 2>&1 || true) in
    *"Loop detected in /Pages"*) ;;
    *) mf_fail "cyclic.pdf: qpdf does not see the loop" ;;
    esac
fi
mf_assert_eq "$(run_one "$T/cyclic.pdf")" failed "cyclic page tree: status"
case $(jq -r .error "$T/cyclic.json") in
*"damaged page tree"*) ;;
*) mf_fail "cyclic page tree: error '$(jq -r .error "$T/cyclic.json")' does not explain" ;;
esac
mf_pass
