# Image lane and ocr profile, issue 15 item 10: BMP, ICO, PSD (flattened), JPEG 2000 (JP2 and
# raw codestream), JPEG XL and PBM/PGM/PPM dropped in the inbox are classified, routed to the
# image lane and done with WebP thumbnails of the right size; the same formats (and GIF) in
# inbox/ocr/ go to the document lane (profile_routes ocr:image=doc), which reads their text,
# as it does PNG, instead of failing with "PDF document is damaged". Through the fleet:
# mf-dispatcher + mf-worker-image + mf-worker-doc. Fixtures made by ImageMagick's convert,
# opj_compress (libopenjp2-tools) and cjxl (libjxl-tools) from one vips/cairo-drawn page.
source "$(dirname "$0")/lib.sh"
for b in mf-dispatcher mf-worker-image mf-worker-doc mf-doc-mkfixture; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
for t in convert opj_compress cjxl; do
    command -v $t >/dev/null || mf_fail "$t missing (deploy/install-deps.sh)"
done
mf_setup
export MF_IMAGE_FACES=0 MF_IMAGE_NEAR_DUP_BITS=0

# a photo-like picture (640x480) for the image lane, a page of text for OCR
vips gaussnoise "$T/n.v" 640 480 --seed 11 && vips colourspace "$T/n.v" "$T/n3.v" srgb &&
    vips copy "$T/n3.v" "$T/photo.png" || mf_fail "photo fixture"
"$MF_BIN_DIR/mf-doc-mkfixture" lines >"$T/lines.txt"
"$MF_BIN_DIR/mf-doc-mkfixture" png "$T/page.png" || mf_fail "page fixture"
# mk SRC NAME: NAME made from SRC by the format's own tool
mk() {
    case "$2" in
    *.jp2 | *.j2k) opj_compress -i "$1" -o "$T/$2" >/dev/null ;;
    *.jxl) cjxl "$1" "$T/$2" >/dev/null 2>&1 ;;
    *.pbm) convert "$1" -monochrome "$T/$2" ;;
    *.ico) convert "$1" -define icon:auto-resize=128,32,16 "$T/$2" ;;
    *) convert "$1" "$T/$2" ;;
    esac || mf_fail "fixture $2"
}
for f in p.bmp p.psd p.jp2 p.j2k p.jxl p.pgm p.ppm p.pbm; do mk "$T/photo.png" "$f"; done
mk "$T/photo.png" p.ico
# OCR pages: the text must survive the format (1-bit PBM and GIF's palette included)
for f in d.gif d.bmp d.pbm d.pgm d.jp2 d.psd d.jxl; do mk "$T/page.png" "$f"; done

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start image "$MF_BIN_DIR/mf-worker-image"
mf_start doc "$MF_BIN_DIR/mf-worker-doc"
sleep 0.5
for f in p.bmp p.ico p.psd p.jp2 p.j2k p.jxl p.pgm p.ppm p.pbm; do mf_drop "pics/$f" "$T/$f"; done
for f in d.gif d.bmp d.pbm d.pgm d.jp2 d.psd d.jxl; do mf_drop "ocr/$f" "$T/$f"; done

# name format width height
while read -r name format w h; do
    mf_expect_status "pics/$name" done 180
    id=$(id_of "pics/$name")
    mf_assert_eq "$(field "$id" type)" image "$name: type (mime $(field "$id" mime))"
    mf_assert_eq "$(field "$id" meta | jq -c '[.format, .width, .height]')" "[\"$format\",$w,$h]" \
        "$name: meta format, width, height"
    mf_assert_eq "$(field "$id" outputs)" "[\"$id/thumb-256.webp\",\"$id/preview-1280.webp\"]" \
        "$name: outputs"
    thumb="$MF_OUTBOX/$id/thumb-256.webp" long=$((w > h ? w : h))
    [ "$long" -gt 256 ] || long=256 # never upscaled
    mf_assert_eq "$(vipsheader -f width "$thumb")x$(vipsheader -f height "$thumb")" \
        "$((256 * w / long))x$((256 * h / long))" "$name: thumbnail size"
done <<'LIST'
p.bmp bmp 640 480
p.ico ico 128 128
p.psd psd 640 480
p.jp2 jp2k 640 480
p.j2k jp2k 640 480
p.jxl jxl 640 480
p.pgm pnm 640 480
p.ppm pnm 640 480
p.pbm pnm 640 480
LIST
# the ICO's largest icon is the one shown, whatever the order of its directory
# (checked above: 128x128 of 128, 32, 16)

for name in d.gif d.bmp d.pbm d.pgm d.jp2 d.psd d.jxl; do
    mf_expect_status "ocr/$name" done 300
    id=$(id_of "ocr/$name")
    mf_assert_eq "$(field "$id" type)" doc "ocr/$name: type"
    mf_assert_eq "$(field "$id" profile)" ocr "ocr/$name: profile"
    mf_assert_eq "$(field "$id" meta | jq -r '.pages')" 1 "ocr/$name: pages"
    mf_similar "$MF_OUTBOX/$id/text.txt" "$T/lines.txt" 0.9 || mf_fail "ocr/$name: OCR text"
    [ -s "$MF_OUTBOX/$id/searchable.pdf" ] || mf_fail "ocr/$name: no searchable.pdf"
done
mf_pass
