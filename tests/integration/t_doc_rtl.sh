# Doc lane, issue 15 item 8: right-to-left text keeps its word spaces. Arabic and Hebrew
# sentences (and a Latin line, for a page that mixes directions) are set by pango-view into a
# PDF with DejaVu Sans; text.txt must be pdftotext's text of the same file, run here, and its
# words the words that were set (bidi marks aside).
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
command -v pango-view >/dev/null || mf_fail "pango-view missing (pango1.0-tools)"

# no lam-alef: DejaVu sets it as one ligature glyph whose text poppler gives back as
# alef-lam (pdftotext the same), so a word with it would not compare as it was set
AR='مرحبا بالعالم هذا نص عربي جميل'
HE='שלום עולם זה טקסט בעברית'
mk() { # OUT TEXT
    pango-view --font="DejaVu Sans 14" -q -o "$1" --text "$2" || mf_fail "pango-view $1"
}
mk "$T/rtl.pdf" "$(printf '%s\n%s' "$AR" "$HE")"
mk "$T/mixed.pdf" "$(printf 'Invoice 4711 from Mediafleet Limited\n%s\n%s' "$AR" "$HE")"

# words FILE: one word a line, without the bidi embedding marks U+202A..U+202E
words() { LC_ALL=C sed 's/\xe2\x80[\xaa-\xae]//g' "$1" | tr -s ' \n\f' '\n\n\n' | sed '/^$/d'; }

for f in rtl mixed; do
    "$MF_BIN_DIR/mf-worker-doc" process "$T/$f.pdf" --out "$T/out-$f" >"$T/$f.json" ||
        mf_fail "$f.pdf: process exited $?: $(cat "$T/$f.json")"
    mf_assert_eq "$(jq -cr '.status' "$T/$f.json")" done "$f.pdf: status"
    mf_assert_eq "$(jq -cr '.meta.ocr' "$T/$f.json")" null "$f.pdf: read from the text layer"
    pdftotext "$T/$f.pdf" "$T/ref-$f.txt"
    cmp -s "$T/out-$f/text.txt" "$T/ref-$f.txt" ||
        mf_fail "$f.pdf: text.txt differs from pdftotext: $(diff "$T/out-$f/text.txt" "$T/ref-$f.txt" | head -5)"
    # every word that was set, as its own word (not run into its neighbours)
    words "$T/out-$f/text.txt" >"$T/words-$f.txt"
    for w in $AR $HE; do
        grep -qxF "$w" "$T/words-$f.txt" || mf_fail "$f.pdf: word '$w' missing from text.txt"
    done
done
mf_assert_eq "$(words "$T/out-rtl/text.txt" | wc -l)" 11 "rtl.pdf: number of words"
mf_pass
