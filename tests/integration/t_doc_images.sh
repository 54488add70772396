# Doc lane, images of documents: a PNG scan and a 2-page TIFF scan are OCRed like scanned PDF
# pages (format told by content, not name); with the ocr profile a searchable PDF comes too.
# meta.text holds the first 1,000 characters; a page upside down is turned and read.
# The megapixel limit (image_max_megapixels) is decided from the header.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT

mk="$MF_BIN_DIR/mf-doc-mkfixture"
"$mk" lines >"$T/lines.txt"
"$mk" png "$T/scan.png" || mf_fail "fixture"
cp "$T/scan.png" "$T/scan-named-wrongly.pdf"
vips arrayjoin "$T/scan.png $T/scan.png" "$T/tall.v" --across 1 &&
    vips tiffsave "$T/tall.v" "$T/two.tif" --page-height "$(vipsheader -f height "$T/scan.png")" ||
    mf_fail "tiff fixture"
"$mk" lines >"$T/lines2.txt" && "$mk" lines >>"$T/lines2.txt"

"$MF_BIN_DIR/mf-worker-doc" process "$T/scan-named-wrongly.pdf" --profile ocr --out "$T/png" \
    >"$T/png.json" || mf_fail "png: $(cat "$T/png.json")"
mf_assert_eq "$(jq -cr '.meta.format' "$T/png.json")" png "png: format"
mf_assert_eq "$(jq -cr '.outputs' "$T/png.json")" '["text.txt","searchable.pdf"]' "png: outputs"
mf_similar "$T/png/text.txt" "$T/lines.txt" 0.95 || mf_fail "png: OCR text"
# meta.text: the first 1,000 characters of text.txt, for redis-cli readers
python3 - "$T/png.json" "$T/png/text.txt" <<'PY' || mf_fail "png: meta.text is not the start of text.txt"
import json, sys
meta = json.load(open(sys.argv[1]))["meta"]
text = open(sys.argv[2], encoding="utf-8").read()
assert len(text) > 0 and meta["text"] == text[:1000], (meta.get("text"), text[:80])
PY
# A phone-style page: WebP, stored sideways with EXIF orientation 6 (JPEG): both upright text.
vips copy "$T/scan.png" "$T/page.webp[Q=90]" || mf_fail "webp fixture"
"$MF_BIN_DIR/mf-worker-doc" process "$T/page.webp" --out "$T/webp" >"$T/webp.json" ||
    mf_fail "webp: $(cat "$T/webp.json")"
mf_assert_eq "$(jq -cr '.meta.format' "$T/webp.json")" webp "webp: format"
mf_similar "$T/webp/text.txt" "$T/lines.txt" 0.95 || mf_fail "webp: OCR text"
vips rot "$T/scan.png" "$T/side.v" d270 && vips copy "$T/side.v" "$T/side.jpg[Q=92]" &&
    python3 - "$T/side.jpg" <<'PY' || mf_fail "orientation fixture"
# An APP1 Exif segment holding only Orientation = 6 (turn 90 clockwise to display), after SOI.
import struct, sys
p = sys.argv[1]
data = open(p, "rb").read()
ifd = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + \
    struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 0)
app1 = b"Exif\x00\x00" + ifd
open(p, "wb").write(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
PY
mf_assert_eq "$(vipsheader -f orientation "$T/side.jpg")" 6 "orientation fixture tag"
"$MF_BIN_DIR/mf-worker-doc" process "$T/side.jpg" --out "$T/side" >"$T/side.json" ||
    mf_fail "side: $(cat "$T/side.json")"
mf_assert_eq "$(jq -c '[.meta.width, .meta.height]' "$T/side.json")" \
    "[$(vipsheader -f width "$T/scan.png"),$(vipsheader -f height "$T/scan.png")]" \
    "EXIF-rotated page: size as displayed"
mf_similar "$T/side/text.txt" "$T/lines.txt" 0.9 || mf_fail "EXIF-rotated page: OCR text"

# A page photographed upside down: found by OSD and turned before recognition.
vips rot "$T/scan.png" "$T/upside.png" d180 || mf_fail "upside fixture"
"$MF_BIN_DIR/mf-worker-doc" process "$T/upside.png" --out "$T/upside" >"$T/upside.json" ||
    mf_fail "upside: $(cat "$T/upside.json")"
mf_similar "$T/upside/text.txt" "$T/lines.txt" 0.9 || mf_fail "upside-down png: OCR text"
pdftotext "$T/png/searchable.pdf" "$T/png-searchable.txt"
mf_similar "$T/png-searchable.txt" "$T/lines.txt" 0.9 || mf_fail "png: searchable.pdf text layer"

"$MF_BIN_DIR/mf-worker-doc" process "$T/two.tif" --out "$T/tif" >"$T/tif.json" ||
    mf_fail "tif: $(cat "$T/tif.json")"
mf_assert_eq "$(jq -cr '.meta.pages' "$T/tif.json")" 2 "tif: pages"
mf_assert_eq "$(jq -cr '.meta.ocr.pages' "$T/tif.json")" 2 "tif: OCRed pages"
mf_assert_eq "$(tr -cd '\f' <"$T/tif/text.txt" | wc -c)" 2 "tif: form feeds"
mf_similar "$T/tif/text.txt" "$T/lines2.txt" 0.9 || mf_fail "tif: OCR text"

vips resize "$T/scan.png" "$T/big.png" 1.5 || mf_fail "big fixture" # 1749x1250: 2.2 MP
rc=0
MF_IMAGE_MAX_MEGAPIXELS=1 "$MF_BIN_DIR/mf-worker-doc" process "$T/big.png" --out "$T/big" \
    >"$T/big.json" || rc=$?
mf_assert_eq "$rc" 1 "over the megapixel limit: exit status"
case "$(jq -cr '.error' "$T/big.json")" in
*"over the limit of 1 megapixels"*) ;;
*) mf_fail "over the megapixel limit: error '$(jq -cr '.error' "$T/big.json")'" ;;
esac
mf_pass
