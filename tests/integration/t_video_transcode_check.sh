#!/usr/bin/env bash
# Issue 15 item 4: transcodes keep the input's length, picture and timing, and a transcode
# that comes out wrong fails with the reason instead of `done`. Fixtures: a variable-frame-rate
# H.264 clip of 8.7 s (frames at 60 and 20 fps by turns), MPEG-4 Part 2 in Matroska, FFV1
# (lossless, intra-only) in Matroska and AVI, and an MPEG-4 clip whose every packet after the
# first is overwritten (the output would be one frame long).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"

ff -f lavfi -i "testsrc2=size=320x240:rate=60:duration=8.7,select='not(mod(n\,3))+lt(mod(t\,2)\,1)'" \
    -f lavfi -i sine=d=8.7 -fps_mode vfr -c:v libx264 -c:a aac vfr.mp4
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -f lavfi -i sine=d=6 \
    -c:v mpeg4 -c:a libvorbis mpeg4.mkv
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=1 -c:v ffv1 ffv1.mkv
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=1 -c:v ffv1 ffv1.avi

# vdur FILE / frames FILE / pts_at FILE N: the video stream's length, frame count, Nth frame time
vdur() { probe -select_streams v -show_entries stream=duration "$1"; }
frames() { probe -count_frames -select_streams v -show_entries stream=nb_read_frames "$1"; }
pts_at() { ffprobe -v error -select_streams v -show_entries frame=pts_time -of csv=p=0 "$1" | sed -n "$2p"; }

mf_log "VFR H.264: same length, same frames at the same times"
run vfr.mp4 out-vfr
in_n=$(frames vfr.mp4) out_n=$(frames out-vfr/video-720p.mp4)
mf_assert_eq "$out_n" "$in_n" "frames of the VFR transcode"
near "$(vdur out-vfr/video-720p.mp4)" 8.7 0.25 || mf_fail "VFR transcode lasts $(vdur out-vfr/video-720p.mp4) s"
for n in 100 200 300; do
    a=$(pts_at vfr.mp4 $n) b=$(pts_at out-vfr/video-720p.mp4 $n)
    near "$a" "$b" 0.02 || mf_fail "frame $n at $b s in the output, $a s in the input"
done
near "$(jq .meta.transcode.duration_s out-vfr.json)" 8.7 0.25 || mf_fail "meta.transcode.duration_s"
mf_assert_eq "$(jq .meta.transcode.frames out-vfr.json)" "$in_n" "meta.transcode.frames"

mf_log "MPEG-4 Part 2 in Matroska: the MP4 has its video"
run mpeg4.mkv out-mpeg4
mf_assert_eq "$(probe -select_streams v -show_entries stream=codec_name out-mpeg4/video-720p.mp4)" \
    h264 "video stream of the MPEG-4 transcode"
mf_assert_eq "$(probe -select_streams a -show_entries stream=codec_name out-mpeg4/video-720p.mp4)" \
    aac "audio stream of the MPEG-4 transcode"
near "$(vdur out-mpeg4/video-720p.mp4)" 6 0.25 || mf_fail "MPEG-4 transcode lasts $(vdur out-mpeg4/video-720p.mp4) s"
mf_assert_eq "$(frames out-mpeg4/video-720p.mp4)" 150 "frames of the MPEG-4 transcode"

for f in ffv1.mkv ffv1.avi; do
    mf_log "$f (intra-only): 1 s stays 1 s"
    run "$f" "out-$f"
    near "$(vdur out-$f/video-720p.mp4)" 1 0.25 || mf_fail "$f transcode lasts $(vdur out-$f/video-720p.mp4) s"
    mf_assert_eq "$(frames out-$f/video-720p.mp4)" 25 "frames of the $f transcode"
done

mf_log "an output that would be one frame long fails with the reason"
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -c:v mpeg4 -g 1000 one.mkv
python3 - <<'PY' || mf_fail "could not damage one.mkv"
import json, subprocess
# every video packet after the first (the one keyframe) overwritten with 0xff
out = subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                               "packet=pos,size,data", "-show_data", "-of", "json", "one.mkv"])
b = bytearray(open("one.mkv", "rb").read())
n = 0
for p in json.loads(out)["packets"][1:]:
    head = bytes.fromhex("".join(p["data"].strip().splitlines()[0][10:49].split()))[:8]
    pos = b.find(head, int(p["pos"]))
    if len(head) == 8 and 0 <= pos < int(p["pos"]) + 32:
        b[pos:pos + int(p["size"])] = b"\xff" * int(p["size"])
        n += 1
assert n > 100, n
open("one-broken.mkv", "wb").write(b)
PY
rc=0
"$W" process one-broken.mkv --out out-broken >out-broken.json 2>>"$T/logs/worker.log" || rc=$?
mf_assert_eq "$rc" 1 "exit status for one-broken.mkv"
mf_assert_eq "$(jq -r .status out-broken.json)" failed "status of one-broken.mkv"
err=$(jq -r .error out-broken.json)
mf_log "one-broken.mkv: $err"
echo "$err" | grep -Eq "^transcode to video-720p.mp4: the output lasts 0.0[0-9] s, the input's video stream 0 \(mpeg4\) 6.00 s \(more than 0.30 s apart\): 1[0-9]{2} damaged packets were skipped" ||
    mf_fail "error of one-broken.mkv: $err"
[ ! -e out-broken/video-720p.mp4 ] || mf_fail "the broken transcode took its name"
[ -z "$(ls -A out-broken | grep -F .tmp.)" ] || mf_fail "temporary output left: $(ls -A out-broken)"
mf_pass
