#!/usr/bin/env bash
# Video lane, one-shot: text subtitle tracks (SubRip in Matroska, mov_text in MP4) become
# subtitles-<lang>.vtt with the cues' text and timing; two tracks of one language do not
# overwrite each other.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"

printf '1\n00:00:00,500 --> 00:00:01,500\nHello <i>world</i>\n\n2\n00:00:01,800 --> 00:00:02,400\nSecond cue\n' >a.srt
printf '1\n00:00:01,000 --> 00:00:02,000\nBonjour\n' >b.srt
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=3 -c:v libx264 -g 25 v.mp4
ff -i v.mp4 -i a.srt -i b.srt -i a.srt -map 0 -map 1 -map 2 -map 3 -c:v copy -c:s srt \
    -metadata:s:s:0 language=eng -metadata:s:s:1 language=fra -metadata:s:s:2 language=eng subs.mkv
ff -i v.mp4 -i a.srt -map 0 -map 1 -c:v copy -c:s mov_text -metadata:s:s:0 language=deu subs.mp4

run subs.mkv mkv
for f in subtitles-eng.vtt subtitles-fra.vtt subtitles-eng-3.vtt; do
    jq -e --arg f "$f" '.outputs | index($f)' mkv.json >/dev/null || mf_fail "$f not listed: $(jq -c .outputs mkv.json)"
    head -1 "mkv/$f" | grep -q '^WEBVTT' || mf_fail "$f is not WebVTT"
done
grep -q '^00:00.500 --> 00:01.500$' mkv/subtitles-eng.vtt || mf_fail "cue timing: $(cat mkv/subtitles-eng.vtt)"
grep -q 'Hello <i>world</i>' mkv/subtitles-eng.vtt || mf_fail "cue text: $(cat mkv/subtitles-eng.vtt)"
grep -q 'Bonjour' mkv/subtitles-fra.vtt || mf_fail "french track: $(cat mkv/subtitles-fra.vtt)"
mf_assert_eq "$(jq -r '.meta.subtitles[0].cues' mkv.json)" 2 "cues in the first track"
# the same file the ffmpeg CLI makes from the track
ffmpeg -nostdin -v error -i subs.mkv -map 0:s:0 ref.vtt
diff -u ref.vtt mkv/subtitles-eng.vtt >&2 || mf_fail "differs from ffmpeg's WebVTT"

run subs.mp4 mp4
grep -q 'Second cue' mp4/subtitles-deu.vtt || mf_fail "mov_text track: $(cat mp4/subtitles-deu.vtt)"
mf_pass
