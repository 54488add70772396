#!/usr/bin/env bash
# Video lane safety, one-shot mode: files that must fail cleanly, with a readable error, the
# right code, no output left behind, and without reading any other file. An HLS playlist
# renamed .mp4 points its segment at a FIFO: whoever opens the FIFO unblocks a writer that
# leaves a flag file, so "did not read the other file" is observed, not assumed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
cd "$T"

# fails FILE PATTERN: one-shot must exit 1 with status failed and an error matching PATTERN,
# leaving no media output (meta.json is only written for successes)
fails() {
    local out="out-$(basename "$1")" rc=0
    timeout 60 "$W" process "$1" --out "$out" >"$out.json" 2>>"$T/logs/worker.log" || rc=$?
    mf_assert_eq "$rc" 1 "exit status for $1"
    mf_assert_eq "$(jq -r .status "$out.json")" failed "status of $1"
    jq -r .error "$out.json" | grep -Eq "$2" || mf_fail "$1: error '$(jq -r .error "$out.json")' does not match '$2'"
    mf_assert_eq "$(jq -r '.outputs | length' "$out.json")" 0 "outputs of $1"
    [ -z "$(ls -A "$out" 2>/dev/null)" ] || mf_fail "$1 left files: $(ls -A "$out")"
    mf_log "$1: $(jq -r .error "$out.json")"
}

ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 -c:v libx264 -g 10 whole.mp4
ff -i whole.mp4 -c copy -movflags +faststart faststart.mp4

: >empty.mp4
fails empty.mp4 'empty \(0 bytes\)'

head -c 20000 whole.mp4 >truncated.mp4 # index (moov) at the end: cut off
fails truncated.mp4 'avformat_open_input\(\) failed: Invalid data.*moov atom not found'

head -c 20000 faststart.mp4 >truncated-fs.mp4 # index first: it points past the end
fails truncated-fs.mp4 'truncated: its index needs [0-9]+ bytes, the file has 20000'

head -c 100000 /dev/urandom >noise.mp4
fails noise.mp4 'Invalid data found'

ff -f lavfi -i testsrc2=size=7696x16:rate=1:duration=1 -c:v libx264 wide.mp4
fails wide.mp4 '7696x16, over the 7680x4320 limit'

mf_log "HLS playlist renamed .mp4: refused without opening its segment"
mkfifo segment.ts
printf '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n%s\n#EXT-X-ENDLIST\n' \
    "$T/segment.ts" >playlist.mp4
watch_fifo() {
    rm -f opened
    (exec 3>segment.ts && echo yes >opened) &
    FIFO_PID=$!
    MF_PIDS+=("$FIFO_PID")
    sleep 0.2
}
# control: ffprobe follows the playlist and opens the segment, so the fixture is dangerous
watch_fifo
timeout 10 ffprobe -v quiet playlist.mp4 || true
mf_wait 5 "ffprobe to open the segment (control)" test -f opened
# the worker refuses the demuxer and never touches the segment
watch_fifo
fails playlist.mp4 "demuxer 'hls' refused"
sleep 0.3
[ ! -f opened ] || mf_fail "the worker opened the playlist's segment"
kill "$FIFO_PID" 2>/dev/null || true

printf "ffconcat version 1.0\nfile '%s'\n" "$T/whole.mp4" >list.mp4
fails list.mp4 "demuxer 'concat' refused"
mf_pass
