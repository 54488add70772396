#!/usr/bin/env bash
# Which names become records: a .part renamed into place gives exactly one record, for the
# final name; names with spaces, newlines and invalid UTF-8 are recorded byte for byte;
# hidden files and folders, symlinks (to files or folders, inside or outside the inbox) and
# FIFOs give none.
source "$(dirname "$0")/lib.sh"
mf_setup
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mk_png "$T/a.png"
mk_png "$T/b.png"
mk_png "$T/c.png"
mk_png "$T/d.png"

# 1. a download in progress, written slowly under .part, then renamed
exec 3>"$MF_INBOX/big.png.part"
head -c 100 "$T/a.png" >&3
sleep 0.3
tail -c +101 "$T/a.png" >&3
exec 3>&-
sleep 0.3
mv "$MF_INBOX/big.png.part" "$MF_INBOX/big.png"
mf_expect_status big.png queued 10
mf_assert_eq "$(field "$(id_of big.png)" size)" "$(stat -c %s "$T/a.png")" "size of big.png"

# 2. odd names, recorded as their exact bytes
odd=$'with space\nand newline.png'
bad=$'latin1-\xe9t\xe9.png'
cp "$T/b.png" "$MF_INBOX/$odd"
cp "$T/c.png" "$MF_INBOX/$bad"
mf_expect_status "$odd" queued 10
mf_expect_status "$bad" queued 10
mf_assert_eq "$(field "$(id_of "$odd")" path)" "$odd" "path with a space and a newline"
[ "$(rraw HGET "mf:file:$(id_of "$bad")" path | od -An -tx1 | tr -d ' \n')" = \
    "$(printf '%s\n' "$bad" | od -An -tx1 | tr -d ' \n')" ] || mf_fail "invalid UTF-8 path changed"

# 3. nothing for these
cp "$T/d.png" "$T/outside.png"
ln -s /etc/passwd "$MF_INBOX/passwd.png"
ln -s "$T/outside.png" "$T/moved-link.png" && mv "$T/moved-link.png" "$MF_INBOX/"
ln -s "$MF_INBOX/big.png" "$MF_INBOX/inside-link.png"
mkdir "$T/elsewhere" && cp "$T/d.png" "$T/elsewhere/x.png"
ln -s "$T/elsewhere" "$MF_INBOX/linked-folder"
cp "$T/d.png" "$MF_INBOX/.hidden.png"
mkdir "$MF_INBOX/.cache" && cp "$T/d.png" "$MF_INBOX/.cache/x.png"
cp "$T/d.png" "$MF_INBOX/later.png.tmp"
mkfifo "$MF_INBOX/pipe.png"
: >"$MF_INBOX/backup.png~"
# a file written after all of those: once it is recorded, they have been seen
mk_png "$MF_INBOX/sentinel.png"
mf_expect_status sentinel.png queued 10
sleep 0.5
mf_assert_eq "$(rraw HLEN mf:paths)" 4 "records (big, two odd names, sentinel)"
mf_assert_eq "$(rraw --scan --pattern 'mf:file:*' | wc -l)" 4 "mf:file keys"
grep -q 'msg="symlink skipped" path="moved-link.png"' "$T/logs/dispatcher.log" ||
    mf_fail "no log line for the symlink moved in"

# 4. a restart scans all of it again: still nothing new, the symlinks logged as skipped
kill -TERM "$MF_PID_dispatcher"
wait "$MF_PID_dispatcher" || mf_fail "dispatcher exited $? on SIGTERM"
mf_start dispatcher2 "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher2.log"
sleep 0.3
mf_assert_eq "$(rraw HLEN mf:paths)" 4 "records after a restart"
grep -q 'msg="symlink skipped" path="passwd.png"' "$T/logs/dispatcher2.log" ||
    mf_fail "the scan did not log the symlink it skipped"
mf_pass
