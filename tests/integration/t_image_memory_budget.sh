# Image lane and document lane, issue 15 item 17: the memory a decode will hold is decided
# from the header (pixels x bands x bytes per sample, for loaders that decode the whole image:
# an interlaced PNG is one) and a file above image_max_decode_mb (default 512) fails at once
# with the estimate and the limit, instead of taking the executor to ~1 GB: a 1 MB interlaced
# 100 MP 16-bit RGBA PNG. The same pixels non-interlaced are streamed, so they pass a budget
# the interlaced file does not. Fixtures: PNGs written by the python below (zlib streamed).
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
export MF_LOG_LEVEL=warn MF_IMAGE_FACES=0

cat >"$T/png16.py" <<'PY'
# bigpng.py OUT W H INTERLACE: a W x H 16-bit RGBA PNG of one grey, streamed through zlib
import struct, sys, zlib
out, w, h, il = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
z = zlib.compressobj(9)
idat = []
passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
sample = b"\x80\x00" * 3 + b"\xff\xff"
geoms = [(w, h)] if not il else [((w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy) for x0, y0, dx, dy in passes]
for pw, ph in geoms:
    if pw <= 0 or ph <= 0: continue
    row = b"\0" + sample * pw
    for y in range(ph):
        idat.append(z.compress(row))
idat.append(z.flush())
data = b"".join(idat)
with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, il)))
    for i in range(0, len(data), 1 << 20): f.write(chunk(b"IDAT", data[i:i + (1 << 20)]))
    f.write(chunk(b"IEND", b""))
PY
python3 "$T/png16.py" "$T/bomb.png" 10000 10000 1 || mf_fail "bomb fixture"
mf_assert_eq "$(vipsheader -f interlaced "$T/bomb.png") $(vipsheader -f format "$T/bomb.png")" \
    "1 ((VipsBandFormat) VIPS_FORMAT_USHORT)" "fixture: interlaced 16-bit"
[ "$(stat -c %s "$T/bomb.png")" -lt 4000000 ] || mf_fail "fixture is not small"

# 1. the image lane, default budget: failed from the header, in little memory
rc=0
/usr/bin/time -f %M -o "$T/rss" "$MF_BIN_DIR/mf-worker-image" process "$T/bomb.png" --out "$T/o1" \
    >"$T/o1.json" || rc=$?
mf_assert_eq "$rc" 1 "bomb: exit status"
mf_assert_eq "$(jq -r .status "$T/o1.json")" failed "bomb: status"
err=$(jq -r .error "$T/o1.json")
case "$err" in
"image would need about 763 MB to decode (10000x10000, 4 bands of 16 bit, interlaced: decoded whole), over the 512 MB decode memory limit (image_max_decode_mb)") ;;
*) mf_fail "bomb: error '$err'" ;;
esac
[ "$(tail -n 1 "$T/rss")" -lt 153600 ] || mf_fail "bomb: peak RSS $(tail -n 1 "$T/rss") kB (over 150 MB)"
[ ! -e "$T/o1/thumb-256.webp" ] || mf_fail "bomb: an output was written"

# 2. the document lane (ocr profile) holds each page whole: the same budget, the same answer
rc=0
/usr/bin/time -f %M -o "$T/rss2" "$MF_BIN_DIR/mf-worker-doc" process "$T/bomb.png" --profile ocr \
    --out "$T/o2" >"$T/o2.json" || rc=$?
mf_assert_eq "$rc" 1 "doc bomb: exit status"
case "$(jq -r .error "$T/o2.json")" in
"image would need about "*" MB to decode (10000x10000, 4 bands of 16 bit, interlaced: decoded whole), over the 512 MB decode memory limit (image_max_decode_mb)") ;;
*) mf_fail "doc bomb: error '$(jq -r .error "$T/o2.json")'" ;;
esac
[ "$(tail -n 1 "$T/rss2")" -lt 204800 ] || mf_fail "doc bomb: peak RSS $(tail -n 1 "$T/rss2") kB"

# 3. interlacing is what costs: 3000x2000 16-bit RGBA is 46 MB whole. Under a 32 MB budget
#    the interlaced file fails and the non-interlaced one (streamed row by row) is done.
python3 "$T/png16.py" "$T/il.png" 3000 2000 1 && python3 "$T/png16.py" "$T/flat.png" 3000 2000 0 ||
    mf_fail "small fixtures"
rc=0
MF_IMAGE_MAX_DECODE_MB=32 "$MF_BIN_DIR/mf-worker-image" process "$T/il.png" --out "$T/o3" \
    >"$T/o3.json" || rc=$?
mf_assert_eq "$(jq -r .status "$T/o3.json")" failed "interlaced under 32 MB: status"
case "$(jq -r .error "$T/o3.json")" in
*"about 46 MB to decode (3000x2000"*"over the 32 MB decode memory limit (image_max_decode_mb)") ;;
*) mf_fail "interlaced under 32 MB: error '$(jq -r .error "$T/o3.json")'" ;;
esac
MF_IMAGE_MAX_DECODE_MB=32 "$MF_BIN_DIR/mf-worker-image" process "$T/flat.png" --out "$T/o4" \
    >"$T/o4.json" || mf_fail "non-interlaced under 32 MB: $(jq -r .error "$T/o4.json")"
mf_assert_eq "$(jq -c '[.meta.width, .meta.height]' "$T/o4.json")" "[3000,2000]" "non-interlaced: meta"
# and the interlaced one with the default budget is fine
"$MF_BIN_DIR/mf-worker-image" process "$T/il.png" --out "$T/o5" >"$T/o5.json" ||
    mf_fail "interlaced, default budget: $(jq -r .error "$T/o5.json")"
mf_assert_eq "$(vipsheader -f width "$T/o5/preview-1280.webp")" 1280 "interlaced: preview width"
mf_pass
