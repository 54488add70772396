#!/usr/bin/env bash
# Issue 15 item 5: a damaged audio stream does not fail the video. Theora + Vorbis in Matroska
# with every third Vorbis packet made invalid (bit 0 of a Vorbis audio packet must be clear):
# the ffmpeg CLI skips those packets and writes the file, so do we, counting them in
# meta.warnings. Only a stream that yields nothing at all fails the job, and says which.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"

ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -f lavfi -i sine=d=3 \
    -c:v libtheora -c:a libvorbis tv.mkv
n=$(damage tv.mkv tv-some.mkv a 3 bit0)
[ "$n" -ge 20 ] || mf_fail "damaged only $n Vorbis packets"
damage tv.mkv tv-all.mkv a 1 bit0 >/dev/null
# control: the ffmpeg CLI decodes the damaged file, reporting the bad packets
ffmpeg -nostdin -v error -i tv-some.mkv -f null - 2>&1 | grep -q "Not a Vorbis I audio packet" ||
    mf_fail "control: ffmpeg does not see the damage"

mf_log "some Vorbis packets damaged: done, with a warning and the sound"
run tv-some.mkv out-some
w=$(jq -r '.meta.warnings[]' out-some.json)
echo "$w" | grep -Eq "^audio stream 1 \(vorbis\): [0-9]+ of [0-9]+ packets damaged and skipped \(Invalid data found" ||
    mf_fail "meta.warnings: $w"
# the damaged packets counted (the very first one may go unnoticed: Vorbis drops its output)
bad=$(echo "$w" | sed -n 's/^audio stream 1 (vorbis): \([0-9]*\) of.*/\1/p')
[ "$bad" -ge $((n - 1)) ] && [ "$bad" -le "$n" ] || mf_fail "$bad damaged packets counted, $n made"
for o in video-720p.mp4 poster.jpg contact-sheet.jpg kf-0001.jpg; do
    [ -s "out-some/$o" ] || mf_fail "no $o"
done
mf_assert_eq "$(probe -select_streams a -show_entries stream=codec_name out-some/video-720p.mp4)" aac "audio of the transcode"
d=$(probe -select_streams a -show_entries stream=duration out-some/video-720p.mp4)
near "$d" 3 0.25 || mf_fail "audio of the transcode lasts $d s"
run tv-some.mkv out-some-m4a --profile audio
jq -r '.meta.warnings[]' out-some-m4a.json | grep -Eq "^audio stream 1 \(vorbis\): [0-9]+ of [0-9]+ packets damaged and skipped" ||
    mf_fail "profile audio: meta.warnings: $(jq -c .meta.warnings out-some-m4a.json)"
[ -s out-some-m4a/audio.m4a ] || mf_fail "no audio.m4a"

mf_log "every Vorbis packet damaged: failed, naming the stream"
fails tv-all.mkv out-all '^transcode to video-720p.mp4: audio stream 1 \(vorbis\): none of its [0-9]+ packets could be decoded \([0-9]+ refused by the decoder: Invalid data found'
mf_pass
