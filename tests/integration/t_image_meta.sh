# Image lane metadata (issue 3, item 1): a photo with camera EXIF, GPS and an sRGB profile,
# made by mf-image-mkfixture (tests/fixtures/image/mkfixture.c). What a user reads in the
# record's meta with redis-cli and in meta.json: readable values, not EXIF rationals. The
# thumbnails themselves carry no metadata unless image_strip=0.
source "$(dirname "$0")/lib.sh"
mf_setup
W=$MF_BIN_DIR/mf-worker-image
MK=$MF_BIN_DIR/mf-image-mkfixture

"$MK" exif "$MF_INBOX/canon.jpg" || mf_fail "mkfixture exif failed"
mk_jpeg "$MF_INBOX/plain.jpg" 320 200

# Through Redis, as a user sees it.
mf_start worker "$W"
canon=$(mf_enqueue canon.jpg)
plain=$(mf_enqueue plain.jpg)
mf_expect_status canon.jpg done
mf_expect_status plain.jpg done
meta=$(field "$canon" meta)
mf_assert_eq "$(jq -c '[.width, .height, .format, .bands, .has_alpha, .pages, .orientation]' \
    <<<"$meta")" '[640,480,"jpeg",3,false,1,1]' "geometry"
mf_assert_eq "$(jq -r .icc <<<"$meta")" sRGB "ICC profile name"
mf_assert_eq "$(jq -c .exif <<<"$meta")" \
    '{"make":"Canon","model":"Canon EOS 5D Mark IV","lens":"EF24-105mm f/4L IS USM","datetime_original":"2023-06-01T14:03:22","exposure":"1/250","iso":400,"fnumber":4,"focal_length_mm":50,"gps":{"lat":51.507281,"lon":-0.127675,"alt":35}}' \
    "exif"
jq -e '.meta.exif.gps.lat == 51.507281' "$MF_OUTBOX/$canon/meta.json" >/dev/null ||
    mf_fail "meta.json does not mirror the record: $(cat "$MF_OUTBOX/$canon/meta.json")"

# A file without EXIF or profile has neither key, rather than empty ones.
mf_assert_eq "$(field "$plain" meta | jq -c '[has("exif"), has("icc")]')" '[false,false]' \
    "no exif/icc on a plain file"

# Thumbnails do not say where the photo was taken, nor with what (libvips 8.14's webpsave
# still writes a blank EXIF block of resolution and version tags)...
for f in thumb-256.webp preview-1280.webp; do
    vipsheader -a "$MF_OUTBOX/$canon/$f" >"$T/hdr"
    grep -E '^(exif-ifd3-GPS|exif-ifd0-(Make|Model)|exif-ifd2-DateTimeOriginal|icc-profile)' \
        "$T/hdr" && mf_fail "$f carries metadata"
done
# ...unless the operator asks to keep metadata.
MF_IMAGE_STRIP=0 "$W" process "$MF_INBOX/canon.jpg" --out "$T/keep" >/dev/null ||
    mf_fail "image_strip=0: exit $?"
vipsheader -a "$T/keep/thumb-256.webp" | grep -q '^exif-ifd0-Make: Canon' ||
    mf_fail "image_strip=0 dropped the EXIF"
# Perceptual hash (meta.phash, 16 hex digits): the same picture as a smaller PNG is a few bits
# away; another picture (the same one turned a quarter) is far.
bits() { # HEX HEX: number of differing bits
    local x=$((0x$1 ^ 0x$2)) n=0
    while [ "$x" -ne 0 ]; do
        x=$((x & (x - 1)))
        n=$((n + 1))
    done
    echo "$n"
}
# A real photograph (a smooth synthetic gradient has near-zero DCT terms whose signs any
# resampling flips): tests/fixtures/image/astronaut.jpg, see its README.
cp "$(dirname "$0")/../fixtures/image/astronaut.jpg" "$T/photo.jpg"
vips resize "$T/photo.jpg" "$T/photo-small.png" 0.4
vips rot "$T/photo.jpg" "$T/photo-turned.jpg" d90
for f in photo.jpg photo-small.png photo-turned.jpg; do
    "$W" process "$T/$f" --out "$T/p-$f" >"$T/p-$f.json" || mf_fail "$f: exit"
done
ha=$(jq -r .meta.phash "$T/p-photo.jpg.json")
hs=$(jq -r .meta.phash "$T/p-photo-small.png.json")
ht=$(jq -r .meta.phash "$T/p-photo-turned.jpg.json")
[[ "$ha" =~ ^[0-9a-f]{16}$ ]] || mf_fail "phash is '$ha'"
[ "$(bits "$ha" "$hs")" -le 4 ] || mf_fail "resized copy: $ha vs $hs, $(bits "$ha" "$hs") bits"
[ "$(bits "$ha" "$ht")" -ge 20 ] || mf_fail "other picture: $ha vs $ht, $(bits "$ha" "$ht") bits"
field "$canon" meta | jq -e '.phash | test("^[0-9a-f]{16}$")' >/dev/null ||
    mf_fail "no phash in the record"
mf_pass
