# Image lane, one-shot mode (`mf-worker-image process FILE`): real files made with vips,
# asserted on what a user gets: WebP outputs of the right sizes, upright after EXIF rotation,
# a JSON record on stdout, and failed records that say why (limit, truncation, format).
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
export MF_LOG_LEVEL=warn

# longest SIDE of an image file
longest() { vipsheader -f width "$1" >"$T/w" && vipsheader -f height "$1" >"$T/h" &&
    awk 'NR==FNR {w=$1; next} {print (w > $1) ? w : $1}' "$T/w" "$T/h"; }
# mean pixel value of the top or bottom half of an image
half_avg() {
    local h w y
    w=$(vipsheader -f width "$1") h=$(vipsheader -f height "$1")
    y=0
    [ "$2" = bottom ] && y=$((h / 2))
    vips extract_area "$1" "$T/half.v" 0 "$y" "$w" $((h / 2))
    vips avg "$T/half.v" | awk '{printf "%d", $1}'
}
# jpeg_with_orientation IN OUT N: IN with an EXIF APP1 segment (Orientation = N) after SOI.
jpeg_with_orientation() {
    {
        printf '\xff\xd8\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08'
        printf '\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00'"\\x0$3"'\x00\x00\x00\x00\x00\x00'
        tail -c +3 "$1"
    } >"$2"
}

# 1. A photo: two WebP outputs from one run, the record on stdout.
mk_jpeg "$T/photo.jpg" 3000 2000
"$W" process "$T/photo.jpg" --out "$T/o1" >"$T/rec1.json" || mf_fail "process exited $?"
jq -e . "$T/rec1.json" >/dev/null || mf_fail "stdout is not JSON: $(cat "$T/rec1.json")"
mf_assert_eq "$(jq -r .status "$T/rec1.json")" done "status"
mf_assert_eq "$(jq -c .outputs "$T/rec1.json")" '["thumb-256.webp","preview-1280.webp"]' "outputs"
mf_assert_eq "$(jq -c '[.meta.width, .meta.height, .meta.format]' "$T/rec1.json")" \
    '[3000,2000,"jpeg"]' "meta"
for f in thumb-256.webp preview-1280.webp; do
    [ "$(head -c 4 "$T/o1/$f")" = RIFF ] && [ "$(head -c 12 "$T/o1/$f" | tail -c 4)" = WEBP ] ||
        mf_fail "$f is not a WebP file"
done
mf_assert_eq "$(longest "$T/o1/thumb-256.webp")" 256 "thumb longest side"
mf_assert_eq "$(longest "$T/o1/preview-1280.webp")" 1280 "preview longest side"
mf_assert_eq "$(jq -r .status "$T/o1/meta.json")" done "meta.json status"
ls -A "$T/o1" | grep -q '^\.' && mf_fail "temporary files left: $(ls -A "$T/o1")"

# 2. Never upscaled: a small image keeps its size.
mk_jpeg "$T/small.jpg" 200 100
"$W" process "$T/small.jpg" --out "$T/o2" >/dev/null || mf_fail "small: exit $?"
mf_assert_eq "$(longest "$T/o2/preview-1280.webp")" 200 "small preview not upscaled"

# 3. EXIF orientation 6 (camera held upright): outputs come out upright. The stored pixels
# are landscape, black left and white right; displayed they are portrait, black on top.
vips black "$T/b.v" 300 400
vips invert "$T/b.v" "$T/w.v"
vips join "$T/b.v" "$T/w.v" "$T/side.jpg" horizontal
jpeg_with_orientation "$T/side.jpg" "$T/rot.jpg" 6
mf_assert_eq "$(vipsheader -f orientation "$T/rot.jpg")" 6 "fixture orientation"
"$W" process "$T/rot.jpg" --out "$T/o3" >"$T/rec3.json" || mf_fail "rotated: exit $?"
mf_assert_eq "$(jq -c '[.meta.width, .meta.height, .meta.orientation]' "$T/rec3.json")" \
    '[400,600,6]' "displayed size and orientation in meta"
for f in thumb-256.webp preview-1280.webp; do
    h=$(vipsheader -f height "$T/o3/$f") w=$(vipsheader -f width "$T/o3/$f")
    [ "$h" -gt "$w" ] || mf_fail "$f is ${w}x${h}, not portrait"
    [ "$(half_avg "$T/o3/$f" top)" -lt 40 ] || mf_fail "$f: top half is not the black side"
    [ "$(half_avg "$T/o3/$f" bottom)" -gt 215 ] || mf_fail "$f: bottom half is not the white side"
done

# 4. A decompression bomb: 20000x20000 (400 MP) fails from its header, fast, naming the limit.
vips black "$T/bomb.png" 20000 20000
s=$SECONDS
rc=0
"$W" process "$T/bomb.png" --out "$T/o4" >"$T/rec4.json" || rc=$?
mf_assert_eq "$rc" 1 "exit status of a failed file"
mf_assert_eq "$(jq -r .status "$T/rec4.json")" failed "bomb status"
mf_assert_eq "$(jq -r .error "$T/rec4.json")" \
    "image is 20000x20000 (400 MP), over the 100 MP limit" "bomb error"
[ $((SECONDS - s)) -le 5 ] || mf_fail "the limit took $((SECONDS - s)) s: decoded?"
ls "$T/o4"/*.webp >/dev/null 2>&1 && mf_fail "outputs written for a refused file"

# 5. A truncated JPEG fails with the decoder's words, not a grey half-thumbnail.
head -c 40000 "$T/photo.jpg" >"$T/cut.jpg"
rc=0
"$W" process "$T/cut.jpg" --out "$T/o5" >"$T/rec5.json" || rc=$?
mf_assert_eq "$rc" 1 "truncated exit"
mf_assert_eq "$(jq -r .error "$T/rec5.json")" \
    "cannot decode the jpeg image: VipsJpeg: Premature end of input file" "truncated error"

# 6. Formats off the allow-list (SVG goes through librsvg, an untrusted loader) and non-images.
printf '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>' >"$T/x.svg"
printf 'just text\n' >"$T/x.txt"
for f in x.svg x.txt; do
    rc=0
    "$W" process "$T/$f" --out "$T/o6" >"$T/rec6.json" || rc=$?
    mf_assert_eq "$rc" 1 "$f exit"
    jq -r .error "$T/rec6.json" | grep -q '^unsupported image format' ||
        mf_fail "$f: error is $(jq -r .error "$T/rec6.json")"
done

# 7. Sizes and format come from the configuration.
MF_IMAGE_THUMB_SIZES="small:64 big:512" MF_IMAGE_FORMAT=jpeg \
    "$W" process "$T/photo.jpg" --out "$T/o7" >"$T/rec7.json" || mf_fail "config sizes: exit $?"
mf_assert_eq "$(jq -c .outputs "$T/rec7.json")" '["small-64.jpg","big-512.jpg"]' "configured outputs"
mf_assert_eq "$(longest "$T/o7/big-512.jpg")" 512 "configured size"
[ "$(head -c 3 "$T/o7/big-512.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ] ||
    mf_fail "image_format=jpeg did not write a JPEG"
# image_quality: a lower quality is a smaller file of the same size; png is lossless.
MF_IMAGE_THUMB_SIZES="big:512" MF_IMAGE_FORMAT=jpeg MF_IMAGE_QUALITY=30 \
    "$W" process "$T/photo.jpg" --out "$T/o7q" >/dev/null || mf_fail "quality 30: exit $?"
[ "$(stat -c %s "$T/o7q/big-512.jpg")" -lt $(($(stat -c %s "$T/o7/big-512.jpg") * 3 / 4)) ] ||
    mf_fail "image_quality=30 is not smaller than the default 80"
MF_IMAGE_THUMB_SIZES="t:64" MF_IMAGE_FORMAT=png \
    "$W" process "$T/photo.jpg" --out "$T/o7p" >"$T/rec7p.json" || mf_fail "png: exit $?"
mf_assert_eq "$(jq -c .outputs "$T/rec7p.json")" '["t-64.png"]' "png output"
mf_assert_eq "$(head -c 4 "$T/o7p/t-64.png" | tail -c 3)" PNG "png signature"

# 8. --check-config validates the lane's entries too.
"$W" --check-config >/dev/null 2>&1 || mf_fail "--check-config on defaults failed"
rc=0
MF_IMAGE_THUMB_SIZES="thumb:huge" "$W" --check-config >/dev/null 2>"$T/cc.err" || rc=$?
[ "$rc" -ne 0 ] || mf_fail "--check-config accepted image_thumb_sizes=thumb:huge"
grep -q image_thumb_sizes "$T/cc.err" || mf_fail "--check-config did not name the entry"
# 9. Files that are not what they say: an empty file, a text file named .jpg (refused), a PNG
# named .jpg (the content decides: processed as PNG), and truncations of each format.
expect_failed() { # FILE ERROR-PREFIX
    local rc=0
    "$W" process "$1" --out "$T/o9" >"$T/rec9.json" || rc=$?
    mf_assert_eq "$rc" 1 "$(basename "$1") exit"
    mf_assert_eq "$(jq -r .status "$T/rec9.json")" failed "$(basename "$1") status"
    case $(jq -r .error "$T/rec9.json") in
    "$2"*) ;;
    *) mf_fail "$(basename "$1"): error is '$(jq -r .error "$T/rec9.json")', not '$2...'" ;;
    esac
}
: >"$T/empty.jpg"
expect_failed "$T/empty.jpg" "empty file (0 bytes): not an image"
printf 'not a photo\n' >"$T/liar.jpg"
expect_failed "$T/liar.jpg" "unsupported image format: not one of jpeg, png"
mk_png "$T/real.png" 300 200
cp "$T/real.png" "$T/png-named.jpg"
"$W" process "$T/png-named.jpg" --out "$T/o9b" >"$T/rec9b.json" || mf_fail "png named .jpg: exit"
mf_assert_eq "$(jq -c '[.status, .meta.format]' "$T/rec9b.json")" '["done","png"]' "png named .jpg"
vips copy "$T/real.png" "$T/real.gif"
vips copy "$T/real.png" "$T/real.webp"
vips copy "$T/real.png" "$T/real.tif"
for f in real.png real.gif real.webp real.tif; do
    head -c $(($(stat -c %s "$T/$f") / 2)) "$T/$f" >"$T/cut-$f"
done
expect_failed "$T/cut-real.png" "cannot decode the png image: vipspng: libpng read error"
expect_failed "$T/cut-real.gif" "cannot decode the gif image: gifload: Unexpected end of GIF"
expect_failed "$T/cut-real.webp" "cannot read the webp header: webp: unable to parse image"
# a TIFF cut before its directory is still a TIFF: a damaged one, not an unsupported format
expect_failed "$T/cut-real.tif" "cannot read the tiff header: "
mf_pass
