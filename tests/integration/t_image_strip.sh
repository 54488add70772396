# Image lane, issue 15 item 2: with image_strip=1 (the default) no output carries EXIF, XMP or
# ICC, and the source's embedded EXIF thumbnail (a phone photo's: it can show what a crop
# removed) is in no output, byte for byte; WebP outputs hold only their image chunks.
# image_strip=0 keeps the metadata. Fixture: a JPEG with EXIF (camera, GPS), XMP and an
# embedded JPEG thumbnail written by exiftool (Debian libimage-exiftool-perl).
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
export MF_LOG_LEVEL=warn
command -v exiftool >/dev/null || mf_fail "exiftool missing (deploy/install-deps.sh)"

mk_jpeg "$T/photo.jpg" 1600 1200
# the embedded thumbnail: a picture of its own, so its bytes are unmistakable
vips gaussnoise "$T/embedded.v" 160 120 --seed 7 && vips copy "$T/embedded.v" "$T/embedded.jpg[Q=90]" ||
    mf_fail "thumbnail fixture"
exiftool -q -overwrite_original "-ThumbnailImage<=$T/embedded.jpg" -Make=Canon -Model="EOS 5D" \
    -GPSLatitude=51.5 -GPSLatitudeRef=N -GPSLongitude=0.12 -GPSLongitudeRef=W \
    -XMP:Creator=Someone "$T/photo.jpg" || mf_fail "exiftool"
exiftool -b -ThumbnailImage "$T/photo.jpg" >"$T/thumb.bin"
mf_assert_eq "$(cmp -s "$T/thumb.bin" "$T/embedded.jpg" && echo same)" same "fixture carries the thumbnail"

# RIFF chunk names of a WebP file, space separated
webp_chunks() {
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"RIFF" and d[8:12] == b"WEBP", "not a WebP file"
i, names = 12, []
while i + 8 <= len(d):
    n = struct.unpack("<I", d[i + 4:i + 8])[0]
    names.append(d[i:i + 4].decode("latin-1").strip())
    i += 8 + n + (n & 1)
print(" ".join(names))
PY
}
# contains FILE NEEDLE-FILE: true when the needle's bytes (any 64 of them) are in the file
contains() {
    python3 -c 'import sys; h=open(sys.argv[1],"rb").read(); n=open(sys.argv[2],"rb").read()
sys.exit(0 if n[64:128] in h or n[-64:] in h else 1)' "$1" "$2"
}

for fmt in webp jpeg png avif; do
    MF_IMAGE_FORMAT=$fmt "$W" process "$T/photo.jpg" --out "$T/$fmt" >"$T/$fmt.json" ||
        mf_fail "$fmt: $(cat "$T/$fmt.json")"
    mf_assert_eq "$(jq -r '.meta.exif.make' "$T/$fmt.json")" Canon "$fmt: meta still reads the EXIF"
    for f in "$T/$fmt"/*-*.*; do
        contains "$f" "$T/thumb.bin" && mf_fail "$fmt: $(basename "$f") holds the embedded EXIF thumbnail"
        tags=$(exiftool -a -G1 -s "$f" | grep -E '^\[(IFD0|IFD1|ExifIFD|GPS|XMP-[a-z]+|ICC[-_a-zA-Z]*|IPTC)\]' || true)
        [ -z "$tags" ] || mf_fail "$fmt: $(basename "$f") carries metadata: $tags"
    done
done
for f in "$T"/webp/*.webp; do
    mf_assert_eq "$(webp_chunks "$f")" "VP8" "$(basename "$f"): RIFF chunks"
done

# image_strip=0: the metadata is kept (EXIF with the camera, XMP)
MF_IMAGE_STRIP=0 "$W" process "$T/photo.jpg" --out "$T/keep" >"$T/keep.json" ||
    mf_fail "keep: $(cat "$T/keep.json")"
chunks=$(webp_chunks "$T/keep/thumb-256.webp")
case " $chunks " in *" EXIF "*"XMP"*) ;; *) mf_fail "image_strip=0: chunks '$chunks'" ;; esac
mf_assert_eq "$(exiftool -s3 -Make "$T/keep/thumb-256.webp")" Canon "image_strip=0: EXIF Make"
mf_pass
