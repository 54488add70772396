#!/usr/bin/env bash
# Video lane, one-shot, profile "audio": audio-only files (mp3, wav) and a video file get
# audio.m4a, AAC in MP4 with the index first, at most stereo, as long as the input; the default
# profile probes an audio file and writes nothing else. A sound file cut short fails saying so.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"

# m4a_ok INPUT OUTDIR CHANNELS: audio.m4a listed, AAC, decodes, moov first, duration of INPUT
m4a_ok() {
    local m=$2/audio.m4a want got
    jq -e '.outputs | index("audio.m4a")' "$2.json" >/dev/null || mf_fail "$1: audio.m4a not listed"
    [ -f "$m" ] || mf_fail "$1: no $m"
    mf_assert_eq "$(probe -select_streams a -show_entries stream=codec_name "$m")" aac "$1 codec"
    mf_assert_eq "$(probe -show_entries stream=channels "$m")" "$3" "$1 channels"
    [ -z "$(probe -select_streams v -show_entries stream=codec_name "$m")" ] || mf_fail "$1: picture in audio.m4a"
    want=$(probe -show_entries format=duration "$1")
    got=$(probe -show_entries format=duration "$m")
    near "$got" "$want" 0.1 || mf_fail "$1: audio.m4a lasts $got, input $want"
    ffmpeg -nostdin -v error -xerror -i "$m" -f null - || mf_fail "$m does not decode"
    head -c 4096 "$m" | grep -q moov || mf_fail "$1: moov is not at the start"
    ls -a "$2" | grep -q '\.tmp' && mf_fail "$1: temporary file left in the outdir"
    mf_assert_eq "$(jq -r .meta.audio.codec "$2.json")" aac "$1 meta.audio.codec"
}

cd "$T"
ff -f lavfi -i sine=frequency=440:duration=2 -c:a libmp3lame tone.mp3
ff -f lavfi -i sine=frequency=300:duration=2.5:sample_rate=48000 -ac 2 tone.wav
ff -f lavfi -i sine=frequency=200:duration=1.5 -ac 6 six.wav
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -f lavfi -i sine=frequency=440:duration=3 \
    -c:v libx264 -g 10 -pix_fmt yuv420p -c:a aac -shortest clip.mp4

mf_log "profile audio: mp3 and wav give audio.m4a (AAC, input's duration)"
run tone.mp3 mp3 --profile audio
m4a_ok tone.mp3 mp3 1
mf_assert_eq "$(jq -r .meta.media mp3.json)" audio "mp3 media"
run tone.wav wav --profile audio
m4a_ok tone.wav wav 2

mf_log "profile audio: 5.1 is downmixed to stereo"
run six.wav six --profile audio
m4a_ok six.wav six 2

mf_log "profile audio: a video file's sound, no transcode"
run clip.mp4 clip --profile audio
m4a_ok clip.mp4 clip 1
[ ! -e clip/video-720p.mp4 ] || mf_fail "profile audio transcoded the video"

mf_log "default profile: an audio file is probed, nothing written"
mf_log "profile audio: a FLAC cut in half says so (its header counts 4 s), a video whose sound stops early does not"
ff -f lavfi -i sine=d=4 tone.flac
run tone.flac flac --profile audio
head -c "$(($(stat -c %s tone.flac) / 2))" tone.flac >cut.flac
fails cut.flac cut "^audio.m4a: the file is cut short: its container says it lasts 4.00 s" --profile audio
ff -f lavfi -i testsrc2=size=160x120:d=4 -f lavfi -i sine=d=2 -c:v libx264 -c:a aac shortsound.mkv
run shortsound.mkv shortsound --profile audio

run tone.mp3 def
[ ! -e def/audio.m4a ] || mf_fail "default profile wrote audio.m4a"
mf_assert_eq "$(jq -c .outputs def.json)" "[]" "default outputs"
mf_assert_eq "$(jq -r '.meta.streams[0].codec' def.json)" mp3 "probed codec"
mf_pass
