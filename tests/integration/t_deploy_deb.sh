#!/usr/bin/env bash
# The Debian package and its unit: `cpack -G DEB` on this build gives a .deb whose control
# data has Depends from dpkg-shlibdeps and whose files are the binaries, libexec/mediafleet,
# /etc/mediafleet/mediafleet.ini (a conffile), the unit, sysusers.d and tmpfiles.d entries;
# lintian reports no error; `systemd-analyze security --offline=true` rates the unit at most
# 3.0. Then the unpacked tree runs: its mfctl check-config passes with the packaged
# mediafleet.ini, and `mfctl up` from it (workers finding ../libexec/mediafleet) tells
# $NOTIFY_SOCKET READY=1 once its workers run, processes a photo to `done`, and says
# STOPPING=1 on SIGTERM. Skips (77) when cpack, dpkg-deb, lintian or systemd-analyze is
# missing.
source "$(dirname "$0")/lib.sh"
for tool in cpack dpkg-deb dpkg-shlibdeps lintian systemd-analyze python3; do
    command -v "$tool" >/dev/null || {
        echo "SKIP: $tool not installed"
        exit 77
    }
done
BUILD=$(cd "$MF_BIN_DIR/.." && pwd)
[ -f "$BUILD/CPackConfig.cmake" ] || mf_fail "no CPackConfig.cmake in $BUILD"
mkdir -p "$T/logs" "$T/pkg"
(cd "$T/pkg" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/pkg") >"$T/logs/cpack.log" 2>&1 ||
    mf_fail "cpack -G DEB failed: $(tail -5 "$T/logs/cpack.log")"
DEB=$(ls "$T"/pkg/mediafleet_*_*.deb)

# control data
dpkg-deb -I "$DEB" >"$T/info"
grep -q '^ Package: mediafleet$' "$T/info" || mf_fail "no Package: mediafleet"
dep=$(sed -n 's/^ Depends: //p' "$T/info")
for d in redis-server libuv1 libhiredis libvips42 libavcodec libpoppler-glib libtesseract5 libc6; do
    [[ "$dep" == *"$d"* ]] || mf_fail "Depends lacks $d (dpkg-shlibdeps): $dep"
done
grep -q '^ Recommends: pocketsphinx-en-us$' "$T/info" ||
    mf_fail "Recommends lacks pocketsphinx-en-us (the captions profile's model)"
dpkg-deb -I "$DEB" conffiles | grep -qx /etc/mediafleet/mediafleet.ini || mf_fail "mediafleet.ini is not a conffile"
dpkg-deb -I "$DEB" postinst | grep -q 'systemd-sysusers mediafleet.conf' || mf_fail "postinst does not create the user"
# files
dpkg-deb -c "$DEB" | awk '{print $6}' >"$T/files"
for f in ./usr/bin/mfctl ./usr/bin/mf-dispatcher ./usr/bin/mf-gateway ./usr/bin/mf-notifier \
    ./usr/bin/mf-worker-image ./usr/bin/mf-worker-video ./usr/bin/mf-worker-doc \
    ./usr/libexec/mediafleet/mf-exec-image ./usr/libexec/mediafleet/mf-exec-video \
    ./usr/libexec/mediafleet/mf-exec-doc ./etc/mediafleet/mediafleet.ini \
    ./lib/systemd/system/mediafleet.service ./usr/lib/sysusers.d/mediafleet.conf \
    ./usr/lib/tmpfiles.d/mediafleet.conf ./usr/share/doc/mediafleet/copyright; do
    grep -qx -- "$f" "$T/files" || mf_fail "$f not in the package"
done

# lintian: no errors (warnings, e.g. no manual pages, are allowed)
lintian --no-cfg "$DEB" >"$T/lintian.out" 2>&1 || true
if grep -q '^E: ' "$T/lintian.out"; then
    mf_fail "lintian errors: $(grep '^E: ' "$T/lintian.out")"
fi

# the unit, as installed
mkdir -p "$T/root"
dpkg-deb -x "$DEB" "$T/root"
UNIT=$T/root/lib/systemd/system/mediafleet.service
grep -qx 'Type=notify' "$UNIT" || mf_fail "the unit is not Type=notify"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT" || mf_fail "no ExecReload sending SIGHUP"
systemd-analyze security --offline=true "$UNIT" >"$T/security.out" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for mediafleet.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$score" ] || mf_fail "no exposure score: $(tail -3 "$T/security.out")"
mf_log "systemd-analyze security: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || mf_fail "exposure $score > 3.0"

# the unpacked tree runs
R=$T/root
unset MF_REDIS_URL
export MF_INBOX=$T/inbox MF_OUTBOX=$T/outbox MF_STATE_DIR=$T/state MF_HTTP_LISTEN= MF_LOG_LEVEL=info
mkdir -p "$T/inbox" "$T/outbox"
"$R/usr/bin/mfctl" --config "$R/etc/mediafleet/mediafleet.ini" check-config >"$T/logs/check.log" 2>&1 ||
    mf_fail "packaged mfctl check-config: $(tail -3 "$T/logs/check.log")"
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode() + "\n")
        if "STOPPING=1" in open(sys.argv[2]).read():
            break
PY
MF_PIDS+=($!)
mf_wait 10 "the notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock mf_start up "$R/usr/bin/mfctl" --config "$R/etc/mediafleet/mediafleet.ini" up --workers image=1,video=0,doc=0
mf_wait 60 "READY=1 on the notify socket" grep -qx 'READY=1' "$T/notify.log"
pgrep -f "$R/usr/bin/mf-worker-image" >/dev/null || mf_fail "READY=1 before an image worker runs"
S=$T/state/redis.sock
mk_jpeg "$T/inbox/photo.jpg"
mf_wait 60 "photo.jpg done" bash -c "id=\$(redis-cli -s '$S' --raw HGET mf:paths photo.jpg); [ -n \"\$id\" ] && [ \"\$(redis-cli -s '$S' --raw HGET mf:file:\$id status)\" = done ]"
id=$(redis-cli -s "$S" --raw HGET mf:paths photo.jpg)
[ -s "$T/outbox/$id/thumb-256.webp" ] || mf_fail "no thumbnail from the packaged executor"
kill -TERM "$MF_PID_up"
mf_wait 60 "STOPPING=1" grep -qx 'STOPPING=1' "$T/notify.log"
rc=0
wait "$MF_PID_up" || rc=$?
mf_assert_eq "$rc" 0 "exit status of the packaged mfctl up"
mf_pass
