#!/usr/bin/env bash
# Issue 15 "errors a person can act on", the video lane's share: a corpus of hostile files
# (truncations and bit flips of small real files in every container the lane reads) goes
# through the one-shot worker. Every file must end done or failed without a crash or a hang,
# and every failed error must start with what failed in the user's terms (not a library call),
# and never show an internal path, a descriptor number or "patches welcome". A file cut short
# says so.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"
mkdir -p src corpus

v="testsrc2=size=160x120:rate=15:duration=1.5" a="sine=d=1.5"
ff -f lavfi -i $v -f lavfi -i $a -c:v libx264 -c:a aac src/h264.mp4
ff -f lavfi -i $v -f lavfi -i $a -c:v libx264 -c:a aac -movflags +faststart src/fast.mov
ff -f lavfi -i $v -f lavfi -i $a -c:v libvpx -c:a libvorbis src/vp8.webm
ff -f lavfi -i $v -f lavfi -i $a -c:v mpeg4 -c:a mp3 src/mpeg4.mkv
ff -f lavfi -i $v -f lavfi -i $a -c:v libx264 -c:a mp2 src/h264.ts
ff -f lavfi -i $v -f lavfi -i $a -c:v mpeg4 -c:a mp3 src/mpeg4.avi
ff -f lavfi -i $v -f lavfi -i $a -c:v flv1 -c:a mp3 src/flv1.flv
ff -f lavfi -i $v -f lavfi -i $a -c:v libtheora -c:a libvorbis src/theora.ogg
ff -f lavfi -i $a -c:a libmp3lame src/sound.mp3
ff -f lavfi -i $a src/sound.wav

# 4 truncations and 8 seeded bit-flip variants (24 bytes each, past the first 32) per file
python3 - src corpus <<'PY'
import os, random, sys
src, dst = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    stem, ext = os.path.splitext(name)
    for k, frac in enumerate((0.05, 0.3, 0.6, 0.9)):
        open(os.path.join(dst, "%s-cut%d%s" % (stem, k, ext)), "wb").write(data[:int(len(data) * frac)])
    for k in range(8):
        rng = random.Random("%s-%d" % (name, k))
        b = bytearray(data)
        for _ in range(24):
            b[rng.randrange(32, len(b))] ^= 1 << rng.randrange(8)
        open(os.path.join(dst, "%s-flip%d%s" % (stem, k, ext)), "wb").write(b)
PY
n=$(ls corpus | wc -l)
[ "$n" -ge 100 ] || mf_fail "only $n hostile files"

done_n=0 failed_n=0
: >errors.txt
for f in corpus/*; do
    b=$(basename "$f") rc=0
    timeout 120 "$W" process "$f" --out "out/$b" >"out-$b.json" 2>>"$T/logs/worker.log" || rc=$?
    [ "$rc" -le 1 ] || mf_fail "$b: worker exit status $rc (crash or hang)"
    st=$(jq -r .status "out-$b.json")
    case "$st" in
    done) done_n=$((done_n + 1)) ;;
    failed)
        failed_n=$((failed_n + 1))
        e=$(jq -r .error "out-$b.json")
        printf '%s\t%s\n' "$b" "$e" >>errors.txt
        [ -n "$e" ] && [ "$e" != null ] || mf_fail "$b: failed without an error"
        ! echo "$e" | grep -Eq '/proc/|\bfd [0-9]|fd=[0-9]|patches welcome' ||
            mf_fail "$b: internal detail in '$e'"
        # the part that failed first: not a library call, not a bare library message
        ! echo "$e" | grep -Eq '^[A-Za-z_0-9]+\(' || mf_fail "$b: error starts with a call: '$e'"
        echo "$e" | grep -Eq "^(the |input |video stream|audio stream|subtitle stream|keyframes of |transcode to |audio.m4a|captions|duration |demuxer )" ||
            mf_fail "$b: error does not start with the part that failed: '$e'"
        ;;
    *) mf_fail "$b: status $st" ;;
    esac
done
mf_log "$n hostile files: $done_n done, $failed_n failed; their errors:"
sort -t"	" -k2 errors.txt >&2
[ "$failed_n" -ge 10 ] || mf_fail "only $failed_n of $n hostile files failed: the corpus is not hostile"
# a file cut short says so, whatever its container: Matroska, WebM and FLV declare a length
# their packets no longer reach (a transcode of what is left used to end `done`), an MP4 has
# lost its index, an AVI its frames
for b in mpeg4-cut2.mkv vp8-cut2.webm flv1-cut2.flv h264-cut1.mp4 mpeg4-cut2.avi; do
    e=$(jq -r .error "out-$b.json")
    grep -q "cut short" <<<"$e" || mf_fail "$b: error '$e' does not say the file is cut short"
done
# and a whole file whose sound outlasts its pictures is not
ff -f lavfi -i $v -f lavfi -i sine=d=3 -c:v libx264 -c:a aac src/longsound.mkv
"$W" process src/longsound.mkv --out out/longsound >out-longsound.json 2>>"$T/logs/worker.log" ||
    mf_fail "longsound.mkv: $(jq -r .error out-longsound.json)"
mf_pass
