#!/usr/bin/env bash
# Video lane through the fleet: mf-dispatcher notices a clip dropped into the inbox, records
# and queues it, mf-worker-video processes it; the record users read with redis-cli says done
# and lists the outputs, which exist in the outbox. A truncated MP4 fails at once (a permanent
# error: one attempt, no retry) with a readable error, and the fleet goes on.
source "$(dirname "$0")/lib.sh"
for b in mf-dispatcher mf-worker-video; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
mf_setup
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
    -f lavfi -i sine=duration=2 -c:v libx264 -g 10 -c:a aac -shortest "$T/clip.mp4"
head -c 20000 "$T/clip.mp4" >"$T/cut.mp4"

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-video"
sleep 0.5
# uploads arrive under a temporary name and are renamed when complete
mkdir -p "$MF_INBOX/clips"
cp "$T/clip.mp4" "$MF_INBOX/clips/clip.mp4.part" && mv "$MF_INBOX/clips/clip.mp4.part" "$MF_INBOX/clips/clip.mp4"
cp "$T/cut.mp4" "$MF_INBOX/cut.mp4.part" && mv "$MF_INBOX/cut.mp4.part" "$MF_INBOX/cut.mp4"

mf_expect_status clips/clip.mp4 done 60
id=$(id_of clips/clip.mp4)
mf_assert_eq "$(field "$id" type)" video "type"
outputs=$(field "$id" outputs)
for o in kf-0001.jpg poster.jpg contact-sheet.jpg video-720p.mp4; do
    jq -e --arg o "$id/$o" 'index($o)' <<<"$outputs" >/dev/null || mf_fail "$o not in outputs $outputs"
done
for o in $(jq -r '.[]' <<<"$outputs"); do
    [ -s "$MF_OUTBOX/$o" ] || mf_fail "output $o missing in the outbox"
done
mf_assert_eq "$(field "$id" meta | jq -r '.streams[0].codec')" h264 "meta codec"
mf_assert_eq "$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 \
    "$MF_OUTBOX/$id/video-720p.mp4")" h264 "transcode codec"
mf_assert_eq "$(jq -r .status "$MF_OUTBOX/$id/meta.json")" done "meta.json status"

mf_expect_status cut.mp4 failed 60
cut=$(id_of cut.mp4)
field "$cut" error | grep -q 'moov atom not found' || mf_fail "error of the truncated file: '$(field "$cut" error)'"
mf_assert_eq "$(field "$cut" attempts)" 1 "attempts of a permanent failure"
mf_pass
