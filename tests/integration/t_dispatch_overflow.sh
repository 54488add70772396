#!/usr/bin/env bash
# More events than the kernel queues (fs.inotify.max_queued_events, 16384 by default) while
# the dispatcher is frozen: IN_Q_OVERFLOW makes it rescan, and every file is recorded once.
source "$(dirname "$0")/lib.sh"
mf_setup
export MF_LOG_LEVEL=info
N=$(($(cat /proc/sys/fs/inotify/max_queued_events 2>/dev/null || echo 16384) + 4000))
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"

kill -STOP "$MF_PID_dispatcher"
# N distinct files, each the head of a real PNG (signature and IHDR) plus its number
python3 - "$MF_INBOX" "$N" <<'PY'
import os, struct, sys, zlib
root, n = sys.argv[1], int(sys.argv[2])
ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
head += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
for i in range(n):
    with open(os.path.join(root, "f%06d.png" % i), "wb") as f:
        f.write(head + b"%d\n" % i)
PY
kill -CONT "$MF_PID_dispatcher"
paths_at_least() { [ "$(rraw HLEN mf:paths)" -ge "$1" ]; }
mf_wait 120 "$N records" paths_at_least "$N"
sleep 0.5
mf_assert_eq "$(rraw HLEN mf:paths)" "$N" "paths recorded"
mf_assert_eq "$(rraw --scan --pattern 'mf:file:*' | wc -l)" "$N" "records (none twice)"
mf_assert_eq "$(rraw XLEN mf:q:image)" "$N" "jobs"
grep -q 'inotify queue overflowed' "$T/logs/dispatcher.log" || mf_fail "no overflow was seen"
# the counters /metrics reads (mf:stats): the overflow, its rescan, every file recorded once
[ "$(rraw HGET mf:stats dispatcher:inotify_overflows)" -ge 1 ] || mf_fail "overflow not counted"
[ "$(rraw HGET mf:stats dispatcher:rescans)" -ge 2 ] || mf_fail "rescan not counted"
mf_assert_eq "$(rraw HGET mf:stats dispatcher:files_recorded)" "$N" "files_recorded counter"
mf_assert_eq "$(rraw HGET mf:stats records:image:queued)" "$N" "records:image:queued counter"
mf_pass
