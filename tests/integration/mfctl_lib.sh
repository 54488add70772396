# For tests of `mfctl up` with its embedded Redis (state_dir under $T): source after lib.sh.
#   mfctl_env; mfctl_up NAME [mfctl up args...]; ...; mfctl_stop NAME
# rcli/rraw talk to the embedded redis; live_workers LANE counts the live registry.
trap mf_cleanup EXIT
mkdir -p "$T/inbox" "$T/outbox" "$T/logs"
unset MF_REDIS_URL MF_CONFIG
export MF_INBOX="$T/inbox" MF_OUTBOX="$T/outbox" MF_STATE_DIR="$T/state"
export MF_LOG_LEVEL=${MF_LOG_LEVEL:-debug} MF_RETRY_BACKOFF_MS=100
export MF_VISIBILITY_TIMEOUT=${MF_VISIBILITY_TIMEOUT:-30}
export MF_HTTP_LISTEN=${MF_HTTP_LISTEN:-} # no gateway unless a test asks (tests run side by side)
MFCTL="$MF_BIN_DIR/mfctl"
S="$T/state/redis.sock"
rcli() { redis-cli -s "$S" --no-raw "$@" 2>/dev/null | sed 's/^"\(.*\)"$/\1/'; }
rraw() { redis-cli -s "$S" --raw "$@" 2>/dev/null; }

descendants() {
    local p
    for p in $(pgrep -P "$1"); do
        echo "$p"
        descendants "$p"
    done
}
child_pid() { pgrep -P "$MFCTL_PID" -f "$1" | head -n 1; }

# mfctl_up NAME [ARGS...]: `mfctl up ARGS` in the background until its redis answers and its
# dispatcher runs.
mfctl_up() {
    local name=$1
    shift
    mf_start "$name" "$MFCTL" up "$@"
    MFCTL_PID=$(eval echo "\$MF_PID_$name")
    mf_wait 15 "the embedded redis to answer" rraw ping
    mf_wait 15 "mfctl to start the dispatcher" child_pid mf-dispatcher
}

# mfctl_stop NAME: SIGTERM; mfctl exits 0 within 30 s and leaves no process behind.
mfctl_stop() {
    local pid=$MFCTL_PID rc=0 kids p
    kids=$(descendants "$pid")
    kill -TERM "$pid"
    mf_wait 30 "mfctl ($1) to exit after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
    wait "$pid" || rc=$?
    mf_assert_eq "$rc" 0 "$1: exit status of mfctl after SIGTERM"
    for p in $kids; do
        if kill -0 "$p" 2>/dev/null; then
            mf_fail "$1: process $p ($(tr '\0' ' ' </proc/"$p"/cmdline)) outlived mfctl"
        fi
    done
}

# live_workers LANE: workers of LANE in the live registry (their heartbeat key exists).
live_workers() {
    local m n=0
    for m in $(rraw ZRANGE mf:workers 0 -1); do
        [ "$(rraw HGET "mf:worker:$m" lane)" = "$1" ] && n=$((n + 1))
    done
    echo "$n"
}
# named_workers LANE: Redis connections named worker-LANE:... (CLIENT LIST).
named_workers() { rraw CLIENT LIST | grep -c "name=worker-$1:" || true; }
# workers_are LANE N: both counts say N.
workers_are() { [ "$(live_workers "$1")" = "$2" ] && [ "$(named_workers "$1")" = "$2" ]; }
