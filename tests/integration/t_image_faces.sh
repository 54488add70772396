# Image lane faces (issue 3, "Faces"): meta.faces lists the frontal faces as {x, y, w, h} in
# the coordinates of the image as displayed, found by an OpenCV cascade (opencv-data) on a
# small grey copy. The photo is tests/fixtures/image/astronaut.jpg (public domain, see the
# README there); the face in it was marked by hand at x 180..268, y 72..176.
source "$(dirname "$0")/lib.sh"
mf_setup
W=$MF_BIN_DIR/mf-worker-image
FIX=$(cd "$(dirname "$0")/../fixtures/image" && pwd)
export MF_LOG_LEVEL=warn

# overlaps JSON X Y W H: true when one box of the faces array JSON covers the box X Y W H with
# an intersection over union of at least 0.5 (a box on the hair, the suit or the whole
# picture does not).
overlaps() {
    jq -e --argjson r "[$2,$3,$4,$5]" 'any(.[];
        ([.x, $r[0]] | max) as $x0 | ([.y, $r[1]] | max) as $y0 |
        ([.x + .w, $r[0] + $r[2]] | min) as $x1 | ([.y + .h, $r[1] + $r[3]] | min) as $y1 |
        ((if $x1 > $x0 and $y1 > $y0 then ($x1 - $x0) * ($y1 - $y0) else 0 end) as $i |
         $i / (.w * .h + $r[2] * $r[3] - $i)) >= 0.5)' <<<"$1" >/dev/null
}
# with_orientation N IN OUT: IN (a JPEG without EXIF) with an EXIF block whose only tag is
# Orientation = N, inserted after the JFIF header (vips cannot set a tag from the command line).
with_orientation() {
    python3 - "$@" <<'PY'
import struct, sys
n, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
tiff += struct.pack(">HHIHH", 0x0112, 3, 1, n, 0) + struct.pack(">I", 0)
app1 = b"Exif\x00\x00" + tiff
seg = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
at = 2
if data[2:4] == b"\xff\xe0":  # after the JFIF APP0
    at = 4 + struct.unpack(">H", data[4:6])[0]
open(dst, "wb").write(data[:at] + seg + data[at:])
PY
}

# (a) The photo, through Redis as a user sees it: one box on the face.
cp "$FIX/astronaut.jpg" "$MF_INBOX/astronaut.jpg"
mf_start worker "$W"
id=$(mf_enqueue astronaut.jpg)
mf_expect_status astronaut.jpg done
faces=$(field "$id" meta | jq -c .faces)
mf_log "astronaut: $faces"
mf_assert_eq "$(jq length <<<"$faces")" 1 "faces in the astronaut photo"
overlaps "$faces" 180 72 88 104 || mf_fail "no box on the face: $faces"
jq -e '.meta.faces == '"$faces" "$MF_OUTBOX/$id/meta.json" >/dev/null ||
    mf_fail "meta.json does not mirror the record: $(cat "$MF_OUTBOX/$id/meta.json")"

# (b) No face: noise, a page of text, a smooth gradient: an empty array, not a missing key.
vips gaussnoise "$T/noise.v" 1600 1200 --seed 11
vips cast "$T/noise.v" "$T/noise.jpg" uchar
vips text "$T/text.v" "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud." \
    --width 1200 --dpi 200
vips invert "$T/text.v" "$T/page.png"
vips xyz "$T/xyz.v" 900 600
vips extract_band "$T/xyz.v" "$T/x.v" 0
vips linear "$T/x.v" "$T/gradient.png" 0.28 0 --uchar
for f in noise.jpg page.png gradient.png; do
    "$W" process "$T/$f" --out "$T/o-$f" >"$T/$f.json" || mf_fail "$f: exit $?"
    mf_assert_eq "$(jq -c .meta.faces "$T/$f.json")" "[]" "$f: faces"
done

# (c) Switched off, by environment or flag: no key at all, and the model is not even loaded.
MF_IMAGE_FACES=0 "$W" process "$FIX/astronaut.jpg" --out "$T/off" >"$T/off.json" ||
    mf_fail "MF_IMAGE_FACES=0: exit $?"
mf_assert_eq "$(jq -c '.meta | has("faces")' "$T/off.json")" false "faces key when off"
"$W" process "$FIX/astronaut.jpg" --out "$T/off2" --image_faces=0 \
    --image_face_model=/nonexistent/cascade.xml >"$T/off2.json" || mf_fail "--image_faces=0: exit"
mf_assert_eq "$(jq -c '.meta | has("faces")' "$T/off2.json")" false "faces key with the flag off"
# On, with a model that is not there: a configuration error saying what to install.
if "$W" process "$FIX/astronaut.jpg" --out "$T/nomodel" \
    --image_face_model=/nonexistent/cascade.xml >/dev/null 2>"$T/nomodel.err"; then
    mf_fail "a missing model was accepted"
fi
grep -q "cv::CascadeClassifier::load(/nonexistent/cascade.xml) failed.*opencv-data" \
    "$T/nomodel.err" || mf_fail "missing model message: $(cat "$T/nomodel.err")"

# (d) Stored sideways with EXIF orientation 6 (turn 90 degrees clockwise to display): the box
# is where the face is displayed. The top of the photo (512x384, not square, so swapped axes
# would show) is stored turned a quarter anticlockwise, 384x512.
vips crop "$FIX/astronaut.jpg" "$T/top.jpg[Q=90,strip]" 0 0 512 384
vips rot "$T/top.jpg" "$T/stored.jpg[Q=90,strip]" d270
with_orientation 6 "$T/stored.jpg" "$T/rotated.jpg"
mf_assert_eq "$(vipsheader -f orientation "$T/rotated.jpg")" 6 "fixture orientation"
"$W" process "$T/rotated.jpg" --out "$T/rot" >"$T/rot.json" || mf_fail "rotated: exit $?"
mf_assert_eq "$(jq -c '[.meta.width, .meta.height]' "$T/rot.json")" "[512,384]" "rotated: size"
faces=$(jq -c .meta.faces "$T/rot.json")
mf_log "rotated: $faces"
overlaps "$faces" 180 72 88 104 || mf_fail "rotated: no box on the displayed face: $faces"

# (e) A 4x larger copy (2048x1536, decoded at 1280, searched at 400): boxes in its own pixels.
vips resize "$T/top.jpg" "$T/large.jpg[Q=90]" 4
"$W" process "$T/large.jpg" --out "$T/large" >"$T/large.json" || mf_fail "large: exit $?"
faces=$(jq -c .meta.faces "$T/large.json")
mf_log "4x: $faces"
overlaps "$faces" 720 288 352 416 || mf_fail "4x: no box on the face: $faces"
mf_pass
