# Issue 6, an idle worker stays small: mf-worker-image (the supervisor that holds Redis) maps
# no media library; its executor child runs mf-exec-image, which does, and sees the same
# configuration (here a command-line flag). An installed layout (bin/ + libexec/mediafleet/)
# works, a missing executor is a clear startup error, and a kill -9 of the worker takes the
# exec'd executor with it. A worker without a job stops its executor at once after start-up
# and executor_idle_s after its last job; the next job starts a fresh one.
source "$(dirname "$0")/lib.sh"
mf_setup

# status_kb PID FIELD: a /proc/PID/status field in kB.
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
ready() { grep -q 'worker ready' "$T/logs/$1.log"; }

# --executor-idle-s=0: the executor is kept, to be looked at
mf_start w1 "$MF_BIN_DIR/mf-worker-image" --image-format=png --executor-idle-s=0
mf_wait 30 "the worker to be ready" ready w1
ex=$(pgrep -P "$MF_PID_w1" | head -1)
[ -n "$ex" ] || mf_fail "no executor child"
case "$(readlink "/proc/$ex/exe")" in
*/mf-exec-image) ;;
*) mf_fail "the executor runs $(readlink "/proc/$ex/exe"), not mf-exec-image" ;;
esac
grep -q libvips "/proc/$ex/maps" || mf_fail "the executor has no libvips mapped"
if grep -E 'libvips|libopencv|libav(codec|format)|libpoppler|libtesseract' "/proc/$MF_PID_w1/maps"; then
    mf_fail "the supervisor maps a media library"
fi
# Structural, not a benchmark: without the media libraries the supervisor is a few MB (30 MB
# with them); a sanitizer runtime adds its own shadow and allocator.
rss=$(status_kb "$MF_PID_w1" VmRSS)
limit=$((15 * 1024))
grep -q libasan "/proc/$MF_PID_w1/maps" && limit=$((30 * 1024)) # about 10 MB with ASan
[ "$rss" -lt "$limit" ] || mf_fail "supervisor VmRSS ${rss} kB, expected < ${limit} kB"
mf_log "supervisor VmRSS ${rss} kB, executor VmRSS $(status_kb "$ex" VmRSS) kB"

# The executor got the flag given to the worker: thumbnails in PNG.
mk_jpeg "$MF_INBOX/a.jpg"
a=$(mf_enqueue a.jpg image/jpeg)
mf_expect_status a.jpg done 60
[ -s "$MF_OUTBOX/$a/thumb-256.png" ] || mf_fail "no thumb-256.png: $(mf_ls_dir "$MF_OUTBOX/$a")"

# A worker that starts with nothing to do keeps only its supervisor; a job starts a fresh
# executor, which is stopped again executor_idle_s after the job.
mf_start w2 "$MF_BIN_DIR/mf-worker-image" --executor-idle-s=2
mf_wait 30 "the second worker to be ready" ready w2
no_child() { [ -z "$(pgrep -P "$MF_PID_w2")" ]; }
mf_wait 10 "the idle executor to be stopped after start-up" no_child
grep -q 'idle: executor stopped until the next job' "$T/logs/w2.log" ||
    mf_fail "no idle message: $(cat "$T/logs/w2.log")"
kill -STOP "$MF_PID_w1" # the next job goes to w2
mk_jpeg "$MF_INBOX/b.jpg"
mf_enqueue b.jpg image/jpeg >/dev/null
mf_expect_status b.jpg done 60
kill -CONT "$MF_PID_w1"
mf_assert_eq "$(field "$(rraw HGET mf:paths b.jpg)" worker | cut -d: -f2)" "$MF_PID_w2" \
    "the idle worker took the job"
[ -n "$(pgrep -P "$MF_PID_w2")" ] || mf_fail "no warm executor right after the job"
mf_wait 10 "the executor to be stopped executor_idle_s after the job" no_child
[ "$(grep -c 'idle: executor stopped until the next job' "$T/logs/w2.log")" -eq 2 ] ||
    mf_fail "expected two idle stops: $(cat "$T/logs/w2.log")"
kill -TERM "$MF_PID_w2"

# kill -9 of the worker: the exec'd executor dies with it (PR_SET_PDEATHSIG).
kill -KILL "$MF_PID_w1"
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
mf_wait 10 "executor $ex to die with its worker" gone "$ex"

# Installed layout: bin/mf-worker-image finds ../libexec/mediafleet/mf-exec-image.
mkdir -p "$T/inst/bin" "$T/inst/libexec/mediafleet" "$T/lone"
cp "$MF_BIN_DIR/mf-worker-image" "$T/inst/bin/"
cp "$MF_BIN_DIR/mf-exec-image" "$T/inst/libexec/mediafleet/"
"$T/inst/bin/mf-worker-image" process "$MF_INBOX/a.jpg" --out "$T/one" >"$T/one.json" ||
    mf_fail "one-shot from the installed layout failed"
mf_assert_eq "$(jq -r .status "$T/one.json")" done "one-shot status (installed layout)"

# No executor anywhere: the worker says where it looked and exits non-zero.
cp "$MF_BIN_DIR/mf-worker-image" "$T/lone/"
rc=0
"$T/lone/mf-worker-image" 2>"$T/lone.err" || rc=$?
[ "$rc" -ne 0 ] || mf_fail "a worker without its executor exited 0"
grep -qF "mf-worker-image: executor mf-exec-image not found: tried $T/lone/../libexec/mediafleet/mf-exec-image (No such file or directory), $T/lone/mf-exec-image (No such file or directory)" "$T/lone.err" ||
    mf_fail "missing-executor message: $(cat "$T/lone.err")"
rc=0
MF_EXEC_DIR=$T/nowhere "$MF_BIN_DIR/mf-worker-image" 2>"$T/nowhere.err" || rc=$?
[ "$rc" -ne 0 ] || mf_fail "a worker with a wrong MF_EXEC_DIR exited 0"
grep -qF "tried $T/nowhere/mf-exec-image (No such file or directory); install it there or set MF_EXEC_DIR" "$T/nowhere.err" ||
    mf_fail "MF_EXEC_DIR message: $(cat "$T/nowhere.err")"
mf_pass
