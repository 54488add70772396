# Image lane, issue 15 errors: a corpus of over 100 hostile files (truncations and bit flips
# of real files of every accepted format) never crashes the lane, and every failed record's
# error starts with what failed in the user's terms (the header, the image data, a limit, the
# format) before the library's words, with no internal path (/proc/self/fd/N) and no
# "unknown libvips error". Plus the cases seen in the field: PNGs with broken chunks name the
# chunk, a TIFF cut short is a damaged TIFF (not "unsupported format"), a damaged HEIC says
# it is the HEIF image that failed.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
export MF_LOG_LEVEL=error MF_IMAGE_FACES=0 MF_IMAGE_THUMB_SIZES="thumb:64"

vips gaussnoise "$T/n.v" 300 200 --seed 5 && vips colourspace "$T/n.v" "$T/c.v" srgb &&
    vips copy "$T/c.v" "$T/src.png" || mf_fail "source"
mkdir -p "$T/ok" "$T/bad"
vips copy "$T/src.png" "$T/ok/a.jpg[Q=85]" && vips copy "$T/src.png" "$T/ok/a.png" &&
    vips copy "$T/src.png" "$T/ok/i.png[interlace]" && vips copy "$T/src.png" "$T/ok/a.webp" &&
    vips copy "$T/src.png" "$T/ok/a.gif" && vips copy "$T/src.png" "$T/ok/a.tif[compression=deflate]" &&
    vips copy "$T/src.png" "$T/ok/s.tif[tile,compression=lzw]" && vips copy "$T/src.png" "$T/ok/a.ppm" &&
    convert "$T/src.png" "$T/ok/a.bmp" && convert "$T/src.png" "$T/ok/a.psd" &&
    convert "$T/src.png" -resize 64x64 "$T/ok/a.ico" && opj_compress -i "$T/src.png" -o "$T/ok/a.jp2" >/dev/null &&
    cjxl "$T/src.png" "$T/ok/a.jxl" >/dev/null 2>&1 && heif-enc -q 50 "$T/src.png" -o "$T/ok/a.heic" >/dev/null ||
    mf_fail "fixtures"
# 4 truncations and 4 seeded bit-flip sets of each file
python3 - "$T/ok" "$T/bad" <<'PY'
import os, random, sys
src, dst = sys.argv[1:3]
for name in sorted(os.listdir(src)):
    d = open(os.path.join(src, name), "rb").read()
    stem, ext = os.path.splitext(name)
    for k, frac in enumerate((0.02, 0.3, 0.6, 0.95)):
        open(os.path.join(dst, f"{stem}-cut{k}{ext}"), "wb").write(d[:max(8, int(len(d) * frac))])
    for k in range(4):
        r = random.Random(sum(name.encode()) * 10 + k)
        b = bytearray(d)
        for _ in range(1 + k * 4):
            i = r.randrange(min(len(b), 64 if k == 0 else len(b)))
            b[i] ^= 1 << r.randrange(8)
        open(os.path.join(dst, f"{stem}-flip{k}{ext}"), "wb").write(b)
PY
n=0 failed=0
for f in "$T"/bad/*; do
    n=$((n + 1))
    rc=0
    "$W" process "$f" --out "$T/out/$n" >"$T/r.json" 2>/dev/null || rc=$?
    [ "$rc" -le 1 ] || mf_fail "$(basename "$f"): exit status $rc (crash?)"
    st=$(jq -r .status "$T/r.json") || mf_fail "$(basename "$f"): no JSON record"
    [ "$st" = failed ] || continue
    failed=$((failed + 1))
    err=$(jq -r .error "$T/r.json")
    case "$err" in
    "cannot read the "*" header: "?* | "cannot decode the "*" image: "?* | "image would need about "* | \
        "image is "*" over the "* | "image has "*" over the "* | "unsupported image format: "*) ;;
    *) mf_fail "$(basename "$f"): error does not start with what failed: '$err'" ;;
    esac
    case "$err" in
    */proc/* | *"unknown libvips error"* | *"no reason given"*) mf_fail "$(basename "$f"): '$err'" ;;
    esac
done
[ "$n" -ge 100 ] || mf_fail "only $n hostile files"
[ "$failed" -ge 50 ] || mf_fail "only $failed of $n failed: the corpus is not hostile enough"
mf_log "$n hostile files, $failed failed, every error well-formed"

# the field cases, by name
err_of() { "$W" process "$1" --out "$T/one" 2>/dev/null | jq -r .error; }
python3 - "$T/ok/a.png" "$T/crc.png" "$T/ok/a.tif" "$T/cut.tif" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.index(b"IDAT")
d[i + 40] ^= 0xff  # IDAT data no longer matches its CRC
open(sys.argv[2], "wb").write(d)
t = open(sys.argv[3], "rb").read()
open(sys.argv[4], "wb").write(t[:len(t) // 3])  # cut before the first directory (at the end)
PY
case "$(err_of "$T/crc.png")" in "cannot decode the png image: "*"(IDAT: "*) ;;
*) mf_fail "broken PNG chunk: '$(err_of "$T/crc.png")'" ;; esac
case "$(err_of "$T/cut.tif")" in "cannot read the tiff header: "*) ;;
*) mf_fail "truncated TIFF: '$(err_of "$T/cut.tif")'" ;; esac
head -c 2000 "$T/ok/a.heic" >"$T/cut.heic"
case "$(err_of "$T/cut.heic")" in "cannot read the heif header: "* | "cannot decode the heif image "*) ;;
*) mf_fail "truncated HEIC: '$(err_of "$T/cut.heic")'" ;; esac
mf_pass
