#!/usr/bin/env bash
# A FUSE mount (bindfs) inside the inbox, written behind its back (into the folder it
# mirrors), as another machine writes an NFS or SMB share: inotify on the mount sees
# nothing, so the dispatcher (watch=auto) must find the mount with statfs() and poll it,
# while the rest of the inbox keeps inotify (a mixed tree). Skips (77) without bindfs or a
# usable /dev/fuse.
source "$(dirname "$0")/lib.sh"
command -v bindfs >/dev/null && command -v fusermount >/dev/null || {
    echo "SKIP: bindfs/fusermount not installed"
    exit 77
}
[ -c /dev/fuse ] || {
    echo "SKIP: no /dev/fuse"
    exit 77
}
mf_setup
SRC=$T/share-src
SHARE=$MF_INBOX/share
mkdir -p "$SRC" "$SHARE"
if ! bindfs --no-allow-other "$SRC" "$SHARE" 2>"$T/bindfs.err"; then
    echo "SKIP: bindfs cannot mount here: $(cat "$T/bindfs.err")"
    exit 77
fi
trap 'fusermount -u "$SHARE" 2>/dev/null || umount -l "$SHARE" 2>/dev/null || true; mf_cleanup' EXIT
[ "$(stat -f -c %t "$SHARE")" = 65735546 ] || mf_fail "the share is not a FUSE mount: $(stat -f -c '%T %t' "$SHARE")"

# inotify on the mount sees nothing of what is written behind its back
python3 - "$SHARE" "$SRC" <<'PY' || mf_fail "inotify on the FUSE mount saw a file written behind its back"
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
assert fd >= 0
# IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
assert libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x8 | 0x80 | 0x100) >= 0
with open(os.path.join(sys.argv[2], "probe.txt"), "w") as f:
    f.write("written behind the mount's back\n")
r, _, _ = select.select([fd], [], [], 2.0)
os.unlink(os.path.join(sys.argv[2], "probe.txt"))
sys.exit(1 if r else 0)
PY

export MF_WATCH=auto MF_POLL_INTERVAL_S=1
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
LOG=$T/logs/dispatcher.log
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$LOG"
grep -q 'msg="polling folder" dir="share" fs=fuse' "$LOG" || mf_fail "the FUSE mount is not polled"
if grep -q 'msg="polling folder" dir="" ' "$LOG"; then mf_fail "the whole inbox is polled"; fi

# written behind the mount's back: a file, and a folder with a file (both made elsewhere
# and renamed in, as a share client finishing an upload does)
mk_jpeg "$T/x.jpg"
mv "$T/x.jpg" "$SRC/x.jpg"
mkdir -p "$T/deep"
mk_png "$T/deep/y.png"
mv "$T/deep" "$SRC/deep"
mf_expect_status share/x.jpg queued 20
mf_expect_status share/deep/y.png queued 20
id=$(id_of share/x.jpg)
mf_assert_eq "$(field "$id" sha256)" "$(sha256sum "$SRC/x.jpg" | cut -d' ' -f1)" "sha256 of share/x.jpg"

# the rest of the inbox keeps inotify, and a file written through the mount is recorded once
mk_png "$MF_INBOX/local.png"
mf_expect_status local.png queued 10
mk_png "$T/through.png"
cp "$T/through.png" "$SHARE/through.png"
mf_expect_status share/through.png queued 20
# two more polls: nothing recorded twice
p=$(sed -n 's/.*msg=polled pass=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1)
mf_wait 20 "two more polls" bash -c "[ \"\$(sed -n 's/.*msg=polled pass=\([0-9]*\).*/\1/p' '$LOG' | tail -n 1)\" -ge $((p + 2)) ]"
mf_assert_eq "$(rraw KEYS 'mf:file:*' | wc -l)" 4 "records (x.jpg, deep/y.png, local.png, through.png)"
mf_pass
