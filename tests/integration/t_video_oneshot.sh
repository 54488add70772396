#!/usr/bin/env bash
# Video lane, one-shot mode (no Redis): probe, keyframes, poster, contact sheet and the 720p
# transcode of small lavfi clips, checked with ffprobe; rotation and SAR reach the outputs;
# an mp3 is probed and done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"

cd "$T"
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -f lavfi -i sine=frequency=440:duration=3 \
    -c:v libx264 -g 10 -pix_fmt yuv420p -c:a aac -shortest clip.mp4
ff -i clip.mp4 -c copy -metadata:s:v rotate=90 rot.mp4
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 -vf setsar=2/1 -c:v libx264 -g 10 sar.mp4
ff -f lavfi -i sine=frequency=440:duration=2 -c:a libmp3lame tone.mp3

mf_log "plain clip: meta, keyframes, poster, sheet, transcode"
run clip.mp4 out
rec=out.json
want=$(probe -show_entries format=duration clip.mp4)
got=$(jq -r .meta.duration_s $rec)
near "$got" "$want" 0.1 || mf_fail "duration_s $got, ffprobe says $want"
mf_assert_eq "$(jq -r .meta.media $rec)" video "media"
mf_assert_eq "$(jq -r '.meta.streams[0].codec' $rec)" h264 "video codec"
mf_assert_eq "$(jq -r '.meta.streams[0].width' $rec)x$(jq -r '.meta.streams[0].height' $rec)" 320x240 "size"
mf_assert_eq "$(jq -r '.meta.streams[1].type' $rec)" audio "stream 1"
mf_assert_eq "$(jq -r '.meta.streams[1].sample_rate' $rec)" 44100 "sample rate"
nkf=$(jq '[.outputs[] | select(startswith("kf-"))] | length' $rec)
[ "$nkf" -ge 3 ] && [ "$nkf" -le 10 ] || mf_fail "expected 3..10 keyframes, got $nkf"
for kf in out/kf-*.jpg out/poster.jpg out/contact-sheet.jpg; do
    [ "$(probe -show_entries stream=codec_name "$kf")" = mjpeg ] || mf_fail "$kf is not a JPEG"
    ffmpeg -nostdin -v error -xerror -i "$kf" -f null - || mf_fail "$kf does not decode"
done
mf_assert_eq "$(probe -show_entries stream=width out/kf-0001.jpg)" 320 "keyframe width"
for o in $(jq -r '.outputs[]' $rec); do [ -f "out/$o" ] || mf_fail "listed output $o missing"; done
mf_assert_eq "$(probe -select_streams v -show_entries stream=codec_name out/video-720p.mp4)" h264 "transcode codec"
mf_assert_eq "$(probe -select_streams a -show_entries stream=codec_name out/video-720p.mp4)" aac "transcode audio"
h=$(probe -select_streams v -show_entries stream=height out/video-720p.mp4)
[ "$h" -le 720 ] || mf_fail "transcode has $h lines"
mf_assert_eq "$h" 240 "never upscaled"
tdur=$(probe -show_entries format=duration out/video-720p.mp4)
near "$tdur" "$want" 0.1 || mf_fail "transcode lasts $tdur, input $want"
ffmpeg -nostdin -v error -xerror -i out/video-720p.mp4 -f null - || mf_fail "transcode does not decode"
# +faststart: the index (moov) comes before the media data (mdat)
head -c 4096 out/video-720p.mp4 | grep -q moov || mf_fail "moov is not at the start"
ls -a out | grep -q '\.tmp' && mf_fail "temporary file left in the outdir"

mf_log "fade-in from black: the poster is the first keyframe that is not near black"
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=3,fade=t=in:st=0:d=1" -c:v libx264 -g 10 fade.mp4
run fade.mp4 fade
yavg() { ffmpeg -nostdin -i "$1" -vf signalstats,metadata=print:key=lavfi.signalstats.YAVG -f null - 2>&1 |
    sed -n 's/.*YAVG=\([0-9.]*\).*/\1/p' | head -1; }
k1=$(yavg fade/kf-0001.jpg)
p=$(yavg fade/poster.jpg)
awk -v k="$k1" -v p="$p" 'BEGIN { exit !(k < 20 && p > 40) }' || mf_fail "kf-0001 YAVG $k1, poster YAVG $p"

mf_log "profile preview: keyframes and poster, no transcode"
run fade.mp4 prev --profile preview
[ -f prev/kf-0001.jpg ] && [ -f prev/poster.jpg ] || mf_fail "preview made no keyframes"
[ ! -e prev/video-720p.mp4 ] || mf_fail "preview transcoded"

mf_log "rotation metadata: portrait outputs"
run rot.mp4 rot
mf_assert_eq "$(jq -r '.meta.streams[0].width' rot.json)x$(jq -r '.meta.streams[0].height' rot.json)" 240x320 "displayed size"
mf_assert_eq "$(probe -show_entries stream=width,height -of csv=p=0 rot/kf-0001.jpg)" 240,320 "rotated keyframe"
mf_assert_eq "$(probe -select_streams v -show_entries stream=width,height -of csv=p=0 rot/video-720p.mp4)" 240,320 "rotated transcode"
# baked in: the output carries no rotation of its own
[ -z "$(probe -select_streams v -show_entries stream_side_data=rotation rot/video-720p.mp4)" ] ||
    mf_fail "transcode still has a display matrix"
# the picture turned the way ffmpeg's autorotate turns it: PSNR of the first frame against
# the autorotated input (a wrong turn scores ~10 dB)
psnr=$(ffmpeg -nostdin -i rot.mp4 -i rot/video-720p.mp4 -lavfi psnr -frames:v 1 -f null - 2>&1 |
    sed -n 's/.*PSNR.* average:\([0-9.inf]*\).*/\1/p')
[ "$psnr" = inf ] || near "$psnr" 100 70 || mf_fail "rotated frame PSNR vs ffmpeg autorotate: '$psnr' dB"

mf_log "2:1 SAR: display aspect kept"
run sar.mp4 sar
mf_assert_eq "$(jq -r '.meta.streams[0].width' sar.json)x$(jq -r '.meta.streams[0].height' sar.json)" 640x240 "displayed size"
mf_assert_eq "$(probe -select_streams v -show_entries stream=width,height -of csv=p=0 sar/video-720p.mp4)" 640,240 "transcode size"
mf_assert_eq "$(probe -show_entries stream=width,height -of csv=p=0 sar/kf-0001.jpg)" 320,120 "keyframe size"

mf_log "hardware encoder asked for, none here: libx264, and meta and the log say why"
for hw in vaapi nvenc; do
    if [ -e /dev/dri/renderD128 ] || [ -e /dev/nvidia0 ]; then
        mf_log "skipped: this machine has a GPU device node"; break
    fi
    MF_VIDEO_HW_ENCODER=$hw "$W" process clip.mp4 --out "hw-$hw" >"hw-$hw.json" 2>"hw-$hw.log" ||
        mf_fail "process with $hw: $(jq -r .error "hw-$hw.json" 2>/dev/null)"
    mf_assert_eq "$(jq -r .status "hw-$hw.json")" done "status with video_hw_encoder=$hw"
    mf_assert_eq "$(jq -r .meta.transcode.encoder "hw-$hw.json")" libx264 "encoder after $hw fallback"
    reason=$(jq -r .meta.transcode.hw_fallback "hw-$hw.json")
    case $reason in "h264_$hw: "?*) ;; *) mf_fail "hw_fallback is '$reason'" ;; esac
    grep -q "using libx264" "hw-$hw.log" || mf_fail "the $hw fallback was not logged"
    ffmpeg -nostdin -v error -xerror -i "hw-$hw/video-720p.mp4" -f null - || mf_fail "$hw fallback output"
done
mf_assert_eq "$(jq -r '.meta.transcode | [.encoder, has("hw_fallback")] | @csv' out.json)" '"libx264",false' "no fallback without hw"
MF_VIDEO_HW_ENCODER=bogus "$W" process clip.mp4 --out bogus >/dev/null 2>bogus.log && mf_fail "bad video_hw_encoder accepted"
grep -q "video_hw_encoder" bogus.log || mf_fail "bad video_hw_encoder not named"

mf_log "mp3: probed, done, no outputs"
run tone.mp3 mp3
mf_assert_eq "$(jq -r .meta.media mp3.json)" audio "media"
mf_assert_eq "$(jq -r '.meta.streams[0].codec' mp3.json)" mp3 "codec"
mf_assert_eq "$(jq -r '.outputs | length' mp3.json)" 0 "outputs"
near "$(jq -r .meta.duration_s mp3.json)" "$(probe -show_entries format=duration tone.mp3)" 0.1 ||
    mf_fail "mp3 duration"
mf_pass
