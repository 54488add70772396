#!/usr/bin/env bash
# Issue 15 item 3: clips with too few keyframes still get 10 pictures, a poster and a contact
# sheet, picked by time and decoded forward from the keyframe before each time. Fixtures: an
# MPEG-TS capture with a single keyframe (H.264 -g 1000 + MP2), MPEG-4 Part 2 in Matroska with
# a single keyframe; control: a clip with a keyframe every 5 frames keeps the keyframe pass.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"

ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -f lavfi -i sine=d=6 \
    -c:v libx264 -g 1000 -keyint_min 1000 -sc_threshold 0 -c:a mp2 single.ts
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -c:v mpeg4 -g 1000 mpeg4.mkv
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=4 -c:v libx264 -g 5 gop5.mp4
for f in single.ts mpeg4.mkv; do
    mf_assert_eq "$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 $f |
        grep -c K)" 1 "keyframes in $f"
done

for f in single.ts mpeg4.mkv; do
    mf_log "$f: one keyframe, ten pictures by time"
    run "$f" "out-$f"
    rec="out-$f.json"
    mf_assert_eq "$(jq -r .meta.keyframes_by "$rec")" time "keyframes_by of $f"
    mf_assert_eq "$(ls out-$f/kf-*.jpg | wc -l)" 10 "kf-*.jpg of $f"
    for o in out-$f/kf-*.jpg out-$f/poster.jpg out-$f/contact-sheet.jpg; do
        # every picture decodes (ffmpeg reads it whole) and the keyframes are 320 wide
        ffmpeg -v error -i "$o" -f null - || mf_fail "$o does not decode"
    done
    mf_assert_eq "$(probe -show_entries stream=width out-$f/kf-0005.jpg)" 320 "kf width of $f"
    mf_assert_eq "$(probe -show_entries stream=width out-$f/poster.jpg)" 320 "poster width of $f"
    # spread over the clip, not ten copies of the first picture
    last=$(jq '.meta.keyframes_s[9]' "$rec")
    near "$last" 5.4 0.2 || mf_fail "$f: last picture at $last s, expected about 5.4 s"
    [ "$(md5sum <out-$f/kf-0001.jpg)" != "$(md5sum <out-$f/kf-0010.jpg)" ] ||
        mf_fail "$f: first and last pictures are the same"
    # and the transcode starts from the one keyframe: a video stream of the full length
    mf_assert_eq "$(probe -select_streams v -show_entries stream=codec_name out-$f/video-720p.mp4)" \
        h264 "video stream of $f's transcode"
    d=$(probe -select_streams v -show_entries stream=duration out-$f/video-720p.mp4)
    near "$d" 6 0.25 || mf_fail "$f: transcode video lasts $d s, expected 6"
done

mf_log "a keyframe every 4 s with B-frames (Matroska): pictures every 2 s, from the keyframe before"
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=20 -c:v libx264 -g 100 -keyint_min 100 \
    -sc_threshold 0 -bf 3 g100.mkv
run g100.mkv out-g100 --profile preview
mf_assert_eq "$(jq -r .meta.keyframes_by out-g100.json)" time "keyframes_by of g100.mkv"
mf_assert_eq "$(jq -c .meta.keyframes_s out-g100.json)" "[0,2,4,6,8,10,12,14,16,18]" "times of g100.mkv"

mf_log "control: keyframes every 5 frames, no second pass"
run gop5.mp4 out-gop5 --profile preview
mf_assert_eq "$(jq -r .meta.keyframes_by out-gop5.json)" keyframe "keyframes_by of gop5.mp4"
mf_assert_eq "$(ls out-gop5/kf-*.jpg | wc -l)" 10 "kf-*.jpg of gop5.mp4"
mf_pass
