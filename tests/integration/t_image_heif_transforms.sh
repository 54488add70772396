# Image lane, issue 15 item 9: HEIF/AVIF files whose primary image carries irot (rotation),
# imir (mirror) or clap (crop) transforms are decoded with the transforms applied, exactly as
# libheif's heif-convert shows them: the thumbnails have heif-convert's size and aspect, and
# a red block in the source's top-left corner ends up in the corner heif-convert puts it.
# libvips 8.14 alone used the embedded thumbnail (without the primary's mirror) or failed with
# "bad image dimensions on decode". Fixtures: heif-enc (libheif-examples) with an embedded
# thumbnail, then the transform boxes added by the python below.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
# faces off: not what is tested here, and under LeakSanitizer (the ASan+UBSan build) a HEIC
# decoded by libheif followed by OpenCV's detector crashes LSan's own tracer at exit ("Tracer
# caught signal 11", no leak or memory error reported); see the branch's report.
export MF_LOG_LEVEL=warn MF_IMAGE_FACES=0
# outputs smaller than the embedded thumbnail, so libvips alone would have used that thumbnail
export MF_IMAGE_THUMB_SIZES="thumb:64 preview:400"
command -v heif-enc >/dev/null && command -v heif-convert >/dev/null ||
    mf_fail "heif-enc/heif-convert missing (libheif-examples, deploy/install-deps.sh)"

# heifx IN OUT [irot=N] [imir=AXIS] [clap=W,H]: adds transform properties to the primary item
# (ipco + ipma), fixing the sizes of the boxes around them and the iloc offsets into mdat.
cat >"$T/heifx.py" <<'PY'
# heifx.py IN OUT [irot=N] [imir=A] [clap=W,H]: adds transform properties to the primary item
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
props = []
for a in sys.argv[3:]:
    k, v = a.split("=")
    if k == "irot":
        props.append(struct.pack(">I4sB", 9, b"irot", int(v)))
    elif k == "imir":
        props.append(struct.pack(">I4sB", 9, b"imir", int(v)))
    elif k == "clap":
        w, h = (int(x) for x in v.split(","))
        props.append(struct.pack(">I4s8i", 40, b"clap", w, 1, h, 1, 0, 1, 0, 1))
data = bytearray(open(src, "rb").read())

def boxes(buf, start, end):
    i = start
    while i + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[i:i + 8])
        yield i, size, typ.decode()
        i += size

top = {t: (o, s) for o, s, t in boxes(data, 0, len(data))}
mo, ms = top["meta"]
assert top["mdat"][0] > mo, "mdat before meta"
kids = {t: (o, s) for o, s, t in boxes(data, mo + 12, mo + ms)}
pitm = struct.unpack(">H", data[kids["pitm"][0] + 12:kids["pitm"][0] + 14])[0]
io, isz = kids["iprp"]
sub = {t: (o, s) for o, s, t in boxes(data, io + 8, io + isz)}
co, cs = sub["ipco"]
nprops = len(list(boxes(data, co + 8, co + cs)))
po, ps = sub["ipma"]
ver, flags = data[po + 8], int.from_bytes(data[po + 9:po + 12], "big")
# rebuild ipma with the new associations on the primary item
p = po + 12
n = struct.unpack(">I", data[p:p + 4])[0]; p += 4
entries = []
for _ in range(n):
    if ver < 1:
        item = struct.unpack(">H", data[p:p + 2])[0]; p += 2
    else:
        item = struct.unpack(">I", data[p:p + 4])[0]; p += 4
    cnt = data[p]; p += 1
    assoc = []
    for _ in range(cnt):
        if flags & 1:
            assoc.append(struct.unpack(">H", data[p:p + 2])[0]); p += 2
        else:
            assoc.append(data[p]); p += 1
    entries.append([item, assoc])
for k in range(len(props)):
    idx = nprops + 1 + k
    for e in entries:
        if e[0] == pitm:
            e[1].append((0x8000 if flags & 1 else 0x80) | idx)
body = struct.pack(">I", len(entries))
for item, assoc in entries:
    body += struct.pack(">H" if ver < 1 else ">I", item) + bytes([len(assoc)])
    for a in assoc:
        body += struct.pack(">H", a) if flags & 1 else bytes([a])
ipma = struct.pack(">I4sB", 12 + len(body), b"ipma", ver) + flags.to_bytes(3, "big") + body
newprops = b"".join(props)
ipco = struct.pack(">I4s", cs + len(newprops), b"ipco") + data[co + 8:co + cs] + newprops
# iprp = its children in order, with ipco and ipma replaced
parts = b""
for o, s, t in boxes(data, io + 8, io + isz):
    parts += ipco if t == "ipco" else ipma if t == "ipma" else data[o:o + s]
iprp = struct.pack(">I4s", 8 + len(parts), b"iprp") + parts
delta = len(iprp) - isz
# fix iloc offsets (mdat moves by delta)
lo = kids["iloc"][0]
v = data[lo + 8]; p = lo + 12
osz, lsz = data[p] >> 4, data[p] & 15; bsz = data[p + 1] >> 4; isz2 = data[p + 1] & 15 if v in (1, 2) else 0
p += 2
cnt = struct.unpack(">H", data[p:p + 2])[0] if v < 2 else struct.unpack(">I", data[p:p + 4])[0]
p += 2 if v < 2 else 4
def rd(p, n): return int.from_bytes(data[p:p + n], "big") if n else 0
def wr(p, n, x): data[p:p + n] = x.to_bytes(n, "big")
for _ in range(cnt):
    p += 2 if v < 2 else 4
    cm = 0
    if v in (1, 2):
        cm = data[p + 1] & 15; p += 2
    p += 2
    base = rd(p, bsz)
    if cm == 0 and bsz and base:
        wr(p, bsz, base + delta)
    bp = p; p += bsz
    ec = struct.unpack(">H", data[p:p + 2])[0]; p += 2
    for _ in range(ec):
        p += isz2
        if cm == 0 and not (bsz and base):
            wr(p, osz, rd(p, osz) + delta)
        p += osz + lsz
out = data[:io] + iprp + data[io + isz:]
struct.pack_into(">I", out, mo, ms + delta)
open(dst, "wb").write(out)
PY
heifx() { python3 "$T/heifx.py" "$@" || mf_fail "heifx $*"; }

# size and red corner(s) of an image: "WxH tl" (tl tr bl br: where the red block is)
corner() {
    vips copy "$1" "$T/corner.ppm" >/dev/null 2>&1 || mf_fail "vips copy $1"
    python3 - "$T/corner.ppm" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
# binary PPM: "P6\n<w> <h>\n255\n" then RGB rows
fields, i = [], 2
while len(fields) < 3:
    while d[i:i + 1].isspace(): i += 1
    if d[i:i + 1] == b"#":  # a comment ("#vips2ppm - <date>")
        i = d.index(b"\n", i)
        continue
    j = i
    while not d[j:j + 1].isspace(): j += 1
    fields.append(int(d[i:j])); i = j
i += 1
w, h = fields[0], fields[1]
red = []
for name, (x, y) in {"tl": (w // 20, h // 20), "tr": (w - 1 - w // 20, h // 20),
                     "bl": (w // 20, h - 1 - h // 20), "br": (w - 1 - w // 20, h - 1 - h // 20)}.items():
    r, g, b = d[i + (y * w + x) * 3:i + (y * w + x) * 3 + 3]
    if r > 180 and g < 80 and b < 80:
        red.append(name)
print(f"{w}x{h}", ",".join(red))
PY
}
# aspect "WxH" -> "landscape" or "portrait"
aspect() { echo "$1" | awk -Fx '{print ($1 > $2) ? "landscape" : "portrait"}'; }

# 800x600 grey with a red block in the top-left corner, a 500 px embedded thumbnail
vips black "$T/b.v" 800 600 --bands 3 && vips linear "$T/b.v" "$T/g.v" 1 128 --uchar &&
    vips draw_rect "$T/g.v" "255 0 0" 0 0 360 280 --fill && vips copy "$T/g.v" "$T/src.png" ||
    mf_fail "source fixture"
heif-enc -q 60 -t 500 "$T/src.png" -o "$T/src.heic" >/dev/null || mf_fail "heif-enc heic"
heif-enc -q 60 -t 500 -A "$T/src.png" -o "$T/src.avif" >/dev/null || mf_fail "heif-enc avif"

n=0
for src in src.heic src.avif; do
    tfs=("irot=1" "imir=0" "clap=480,400 irot=1")
    [ "$src" = src.heic ] && tfs+=("irot=2" "imir=1" "irot=3 imir=1" "clap=480,400")
    for tf in "${tfs[@]}"; do
        n=$((n + 1))
        ext=${src#*.}
        # shellcheck disable=SC2086 # one word per transform
        heifx "$T/$src" "$T/t$n.$ext" $tf
        heif-convert "$T/t$n.$ext" "$T/ref$n.png" >/dev/null || mf_fail "heif-convert $src $tf"
        "$W" process "$T/t$n.$ext" --out "$T/o$n" >"$T/o$n.json" ||
            mf_fail "$src $tf: $(jq -r .error "$T/o$n.json")"
        read -r ref_size ref_red <<<"$(corner "$T/ref$n.png")"
        [ -n "$ref_red" ] || mf_fail "$src $tf: heif-convert's image shows no red corner"
        mf_assert_eq "$(jq -r '"\(.meta.width)x\(.meta.height)"' "$T/o$n.json")" "$ref_size" \
            "$src $tf: meta width x height"
        for out in preview-400.webp thumb-64.webp; do
            read -r size red <<<"$(corner "$T/o$n/$out")"
            mf_assert_eq "$(aspect "$size")" "$(aspect "$ref_size")" "$src $tf: $out aspect ($size)"
            mf_assert_eq "$red" "$ref_red" "$src $tf: $out red corner"
        done
    done
done
mf_pass
