#!/usr/bin/env bash
# Errors a person can act on, over a corpus of hostile files (issue 15): real files of every
# supported format (made here with vips, heif-enc, ffmpeg and the cairo fixture tool, plus
# qpdf) are truncated at several offsets and have bytes flipped, about 130 files in all,
# dropped into a real fleet (mf-dispatcher and one worker per lane). Every record must reach a
# terminal status, no worker may die, and every `failed` error must follow these rules:
#   R1 it is not empty;
#   R2 it holds no internal detail: no "/proc/", no "fd/", no "unknown libvips error", no
#      "patches welcome", no "4294967295" (a -1 printed unsigned);
#   R3 it starts with a plain word, as a person writes one ("truncated", "Image", "file"), not
#      with a function or type name ("vips_thumbnail()", "VipsJpeg:", "TIFFFillStrip:",
#      "avcodec_send_packet") nor a loader's name ("heifload:", "pngload_source:");
#   R4 it does not start with a library's bare phrase, which names nothing of the file:
#      "Invalid data found when processing input", "Decoder plugin generated an error",
#      "Not yet implemented", "Invalid argument", "End of file", "Unspecified";
#   R5 it does not contradict the record: "unsupported ... not one of <formats>" for a file
#      whose MIME type names one of those formats.
# Every offending error is printed with its file, MIME type and the rules it breaks.
source "$(dirname "$0")/lib.sh"
for b in mf-dispatcher mf-worker-image mf-worker-video mf-worker-doc mf-doc-mkfixture; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
mf_setup
# a hostile file that crashes or hangs an executor is retried once, within bounded time
export MF_MAX_ATTEMPTS=2 MF_TIMEOUT_IMAGE=60 MF_TIMEOUT_VIDEO=120 MF_TIMEOUT_DOC=120
export MF_LOG_LEVEL=info

# ---- originals, one per format ---------------------------------------------------------------
S="$T/src"
mkdir -p "$S"
photo="$(dirname "$0")/../fixtures/image/astronaut.jpg"
vips thumbnail "$photo" "$S/photo.jpg[Q=85]" 256
vips thumbnail "$photo" "$S/photo.png" 200
vips thumbnail "$photo" "$S/photo.webp[Q=80]" 200
vips thumbnail "$photo" "$S/photo.gif" 120
vips thumbnail "$photo" "$S/photo.tif[compression=deflate,tile,tile-width=64,tile-height=64]" 200
vips thumbnail "$photo" "$S/strip.tif[compression=lzw]" 160
if command -v heif-enc >/dev/null; then
    heif-enc -q 50 -o "$S/photo.heic" "$S/photo.png" >/dev/null
    heif-enc -A -q 50 -o "$S/photo.avif" "$S/photo.png" >/dev/null
fi
av() { ffmpeg -nostdin -v error -y "$@"; }
av -f lavfi -i testsrc2=size=160x120:rate=15:duration=1 -f lavfi -i sine=duration=1 \
    -c:v libx264 -g 5 -pix_fmt yuv420p -c:a aac -shortest "$S/clip.mp4"
av -f lavfi -i testsrc2=size=160x120:rate=15:duration=1 -f lavfi -i sine=duration=1 \
    -c:v libx264 -g 5 -pix_fmt yuv420p -c:a libvorbis -shortest "$S/clip.mkv"
av -f lavfi -i testsrc2=size=160x120:rate=15:duration=1 -f lavfi -i sine=duration=1 \
    -c:v libvpx -b:v 200k -c:a libopus -shortest "$S/clip.webm"
av -f lavfi -i sine=frequency=440:duration=2 -c:a libmp3lame -b:a 64k "$S/tone.mp3"
av -f lavfi -i sine=frequency=440:duration=1 -c:a pcm_s16le "$S/tone.wav"
"$MF_BIN_DIR/mf-doc-mkfixture" text "$S/report.pdf" 2 >/dev/null
qpdf --object-streams=generate --linearize "$S/report.pdf" "$S/linear.pdf"
for f in "$S"/*; do [ -s "$f" ] || mf_fail "original $f was not made"; done

# ---- hostile files: truncations and bit flips (deterministic) ---------------------------------
H="$T/hostile"
python3 - "$S" "$H" <<'PY'
import os, random, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    stem, ext = os.path.splitext(name)
    n = len(data)
    # truncations: inside the header, early, half-way, near the end
    for label, cut in (("t64", 64), ("t6", n // 16), ("t50", n // 2), ("t90", n * 9 // 10)):
        if 0 < cut < n:
            open(os.path.join(out, f"{stem}-{label}{ext}"), "wb").write(data[:cut])
    # bit flips: a few bytes past the signature, then many spread over the file
    rnd = random.Random(f"{name}-mediafleet")
    for label, count, lo in (("f3", 3, 16), ("f20", 20, 16), ("fhdr", 4, 4), ("f200", 200, 32)):
        b = bytearray(data)
        for _ in range(count):
            i = rnd.randrange(min(lo, n - 1), n)
            b[i] ^= 1 << rnd.randrange(8)
        open(os.path.join(out, f"{stem}-{label}{ext}"), "wb").write(bytes(b))
PY
# a valid signature followed by junk
head -c 16 "$S/photo.png" >"$H/sig-junk.png" && head -c 4000 /dev/urandom >>"$H/sig-junk.png"
head -c 12 "$S/clip.mp4" >"$H/sig-junk.mp4" && head -c 4000 /dev/urandom >>"$H/sig-junk.mp4"
printf '%%PDF-1.7\n' >"$H/sig-junk.pdf" && head -c 4000 /dev/urandom >>"$H/sig-junk.pdf"
# damaged page images dropped to be read (profile ocr: the document lane decodes them)
mkdir -p "$H/ocr"
for f in "$H"/photo-t50.* "$H"/photo-f20.*; do
    case $f in *.jpg | *.png | *.webp | *.tif) cp "$f" "$H/ocr/" ;; esac
done
n_files=$(find "$H" -type f | wc -l)
mf_log "hostile files: $n_files"
[ "$n_files" -ge 100 ] || mf_fail "only $n_files hostile files"

# ---- the fleet --------------------------------------------------------------------------------
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start image "$MF_BIN_DIR/mf-worker-image"
mf_start video "$MF_BIN_DIR/mf-worker-video"
mf_start doc "$MF_BIN_DIR/mf-worker-doc"
workers="$MF_PID_image $MF_PID_video $MF_PID_doc"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
(cd "$H" && find . -type f | sed 's|^\./||' | sort) >"$T/files.txt"
while read -r rel; do
    mf_drop "$rel" "$H/$rel"
done <"$T/files.txt"

# every file recorded, every record terminal (the slowest: a clip retried after a timeout)
all_terminal() {
    local rel id st
    while read -r rel; do
        id=$(id_of "$rel")
        [ -n "$id" ] || return 1
        st=$(field "$id" status)
        case $st in done | failed | duplicate | unsupported) ;; *) return 1 ;; esac
    done <"$T/files.txt"
}
end=$((SECONDS + 600))
until all_terminal; do
    if [ $SECONDS -ge $end ]; then
        while read -r rel; do
            id=$(id_of "$rel")
            printf 'not terminal: %s id=%s status=%s\n' "$rel" "$id" "$([ -n "$id" ] && field "$id" status)" >&2
        done <"$T/files.txt"
        mf_fail "records did not reach a terminal status"
    fi
    sleep 1
done
for pid in $workers; do
    kill -0 "$pid" 2>/dev/null || mf_fail "worker $pid died"
done

# ---- the rules --------------------------------------------------------------------------------
python3 - "$T/redis.sock" "$T/files.txt" >"$T/report.txt" <<'PY' || true
import re, socket, sys

sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
buf = sock.makefile("rb")

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    return read()

def read():
    line = buf.readline().rstrip(b"\r\n")
    t, rest = line[:1], line[1:]
    if t == b"$":
        n = int(rest)
        return None if n < 0 else buf.read(n + 2)[:-2]
    if t == b"*":
        return [read() for _ in range(int(rest))]
    if t == b":":
        return int(rest)
    return rest

FORBIDDEN = ["/proc/", "fd/", "unknown libvips error", "patches welcome", "4294967295"]
BARE = ["Invalid data found when processing input", "Decoder plugin generated an error",
        "Not yet implemented", "Invalid argument", "End of file", "Unspecified"]
LIBWORDS = {"vips", "libvips", "ffmpeg", "libav", "poppler", "glib", "cairo", "tesseract",
            "libheif", "magick", "lib"}

def broken(err, mime):
    why = []
    if not err.strip():
        return ["R1 empty"]
    for f in FORBIDDEN:
        if f in err:
            why.append(f"R2 contains {f!r}")
    # a word, or an acronym a person knows ("PDF", "JPEG"); not a function name ("vips_x()")
    m = re.match(r"[A-Za-z][A-Za-z0-9'-]*(?=[ ,:;.]|$)", err)
    if not m:
        why.append("R3 does not start with a plain word: " + repr(err.split(" ")[0]))
    else:
        w = m.group(0)
        if re.search(r"[a-z][A-Z]", w):  # an identifier: "VipsJpeg", "TIFFFillStrip"
            why.append(f"R3 starts with a type or function name: {w!r}")
        elif w.lower() in LIBWORDS or re.fullmatch(r"[a-z]+(load|save)", w):
            why.append(f"R3 starts with a library or loader name: {w!r}")
    for b in BARE:
        if err.startswith(b):
            why.append(f"R4 starts with the library's bare words {b!r}")
    m = re.search(r"not one of ([^:]*)", err)
    if m and "/" in mime:
        sub = mime.split("/", 1)[1].lower()
        if re.search(r"\b%s\b" % re.escape(sub), m.group(1).lower()):
            why.append(f"R5 says it is not one of {m.group(1).strip()!r} but the MIME type is {mime}")
    return why

counts, bad = {}, 0
for rel in open(sys.argv[2], encoding="utf-8").read().split("\n"):
    if not rel:
        continue
    rid = cmd("HGET", "mf:paths", rel).decode()
    rec = cmd("HGETALL", "mf:file:" + rid)
    r = {rec[i].decode(): rec[i + 1].decode("utf-8", "replace") for i in range(0, len(rec), 2)}
    st = r.get("status", "")
    counts[st] = counts.get(st, 0) + 1
    print(f"{st:11} {r.get('type',''):6} {rel:28} {r.get('mime',''):28} {r.get('error','')!r}")
    if st != "failed":
        continue
    why = broken(r.get("error", ""), r.get("mime", ""))
    if why:
        bad += 1
        print(f"OFFENDING {rel} (mime {r.get('mime','')}, type {r.get('type','')}): "
              f"{r.get('error','')!r}\n    " + "\n    ".join(why))
print("statuses: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
print(f"offending errors: {bad}")
sys.exit(1 if bad else 0)
PY
cat "$T/report.txt" >&2
grep -q '^statuses: ' "$T/report.txt" || mf_fail "the error check did not run"
n_bad=$(sed -n 's/^offending errors: //p' "$T/report.txt")
[ "$n_bad" = 0 ] || mf_fail "$n_bad failed records have errors a person cannot act on (OFFENDING lines above)"
mf_pass
