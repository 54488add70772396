# Shared helpers for integration tests: a private redis-server on a unix socket, temporary
# inbox/outbox, the real binaries from $MF_BIN_DIR, and polling assertions.
# Usage: source "$(dirname "$0")/lib.sh"; mf_setup; ...; mf_pass
set -euo pipefail

MF_BIN_DIR=${MF_BIN_DIR:?MF_BIN_DIR must point at the built binaries}
: "${MF_TEST_TMP:=/tmp}"
mkdir -p "$MF_TEST_TMP"
T=$(mktemp -d "$MF_TEST_TMP/$(basename "$0" .sh).XXXXXX")
MF_PIDS=()
# The lanes, in registry order, read from the lane registry (common/include/mf/lanes.h: one
# `X(name, ...` line per lane), so a new lane needs no edit here.
MF_LANES=$(sed -n 's/^[[:space:]]*X(\([a-z][a-z0-9_]*\),.*/\1/p' \
    "$(dirname "${BASH_SOURCE[0]}")/../../common/include/mf/lanes.h" | tr '\n' ' ')
MF_LANES=${MF_LANES% }

mf_log() { printf '# %s\n' "$*" >&2; }
mf_fail() {
    printf 'FAIL %s: %s\n' "$(basename "$0")" "$*" >&2
    if [ -d "$T/logs" ]; then
        for f in "$T"/logs/*.log; do
            [ -f "$f" ] || continue
            printf -- '--- %s (last 40 lines)\n' "$f" >&2
            tail -n 40 "$f" >&2
        done
    fi
    exit 1
}
mf_pass() { printf 'PASS %s\n' "$(basename "$0")"; }

mf_cleanup() {
    local pid
    for pid in "${MF_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.2
    for pid in "${MF_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    [ -n "${MF_KEEP_TMP:-}" ] || rm -rf "$T"
}

# Starts a private redis-server (no persistence unless $1 = persist) and exports the
# MF_* environment every binary reads.
mf_setup() {
    trap mf_cleanup EXIT
    mkdir -p "$T/inbox" "$T/outbox" "$T/logs" "$T/redis"
    mf_redis_start "${1:-}"
    export MF_REDIS_URL="unix://$T/redis.sock"
    export MF_INBOX="$T/inbox" MF_OUTBOX="$T/outbox" MF_STATE_DIR="$T/state"
    export MF_LOG_LEVEL=${MF_LOG_LEVEL:-debug}
    export MF_VISIBILITY_TIMEOUT=${MF_VISIBILITY_TIMEOUT:-3}
    export MF_RETRY_BACKOFF_MS=${MF_RETRY_BACKOFF_MS:-100}
}

mf_redis_start() {
    local persist=(--save "" --appendonly no)
    [ "${1:-}" = persist ] && persist=(--save "" --appendonly yes --appendfsync always)
    redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --dir "$T/redis" \
        "${persist[@]}" --daemonize no >"$T/logs/redis.log" 2>&1 &
    MF_REDIS_PID=$!
    MF_PIDS+=("$MF_REDIS_PID")
    mf_wait 10 "redis-server answers" rcli ping
}

rcli() { redis-cli -s "$T/redis.sock" --no-raw "$@" 2>/dev/null | sed 's/^"\(.*\)"$/\1/'; }
rraw() { redis-cli -s "$T/redis.sock" --raw "$@"; }

# mf_start NAME CMD...: runs a binary in the background with its log in $T/logs/NAME.log;
# its pid is in MF_PID_<NAME>.
mf_start() {
    local name=$1
    shift
    "$@" >>"$T/logs/$name.log" 2>&1 &
    local pid=$!
    MF_PIDS+=("$pid")
    eval "MF_PID_${name//-/_}=$pid"
}

# mf_wait SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s until it succeeds.
mf_wait() {
    local secs=$1 what=$2
    shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || mf_fail "timed out after ${secs}s waiting for: $what"
        sleep 0.1
    done
}

id_of() { rraw HGET mf:paths "$1"; }
field() { rraw HGET "mf:file:$1" "$2"; }
# status_is PATH STATUS: true when PATH's latest record has STATUS.
status_is() {
    local id
    id=$(id_of "$1")
    [ -n "$id" ] && [ "$(field "$id" status)" = "$2" ]
}
# mf_expect_status PATH STATUS [SECONDS]
mf_expect_status() {
    mf_wait "${3:-30}" "$1 to be $2" status_is "$1" "$2"
}
mf_assert_eq() { [ "$1" = "$2" ] || mf_fail "${3:-value}: expected '$2', got '$1'"; }

# Fixtures made with the real tools.
# gaussnoise has a fixed default seed: vary it or every fixture has the same content.
mk_jpeg() { vips gaussnoise "$1" "${2:-640}" "${3:-480}" --seed "$((RANDOM * 32768 + RANDOM))" >/dev/null; }
mk_png() { vips gaussnoise "$1" "${2:-320}" "${3:-240}" --seed "$((RANDOM * 32768 + RANDOM))" >/dev/null; }
# mf_ls_dir DIR: the names in DIR (hidden ones too), sorted, on one line.
mf_ls_dir() { (cd "$1" && ls -A | sort | tr '\n' ' ' | sed 's/ $//'); }

# mf_enqueue REL [MIME]: records $MF_INBOX/REL and queues its image job the way
# queues/lua/enqueue.lua does (record + stream entry), so a worker test needs no dispatcher;
# prints the id.
mf_enqueue() {
    local rel=$1 id size now
    id=$(printf '01TEST%020d' "$((RANDOM * 32768 + RANDOM))")
    size=$(stat -c %s "$MF_INBOX/$rel")
    now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
    rraw HSET "mf:file:$id" id "$id" path "$rel" size "$size" mtime 0 mime "${2:-image/jpeg}" \
        type image sha256 "" profile default status queued received_at "$now" queued_at "$now" \
        started_at "" finished_at "" process_duration_ms "" attempts 0 worker "" outputs '[]' \
        meta '{}' error "" duplicate_of "" >/dev/null
    rraw HSET mf:paths "$rel" "$id" >/dev/null
    rraw XGROUP CREATE mf:q:image workers 0 MKSTREAM >/dev/null 2>&1 || true
    rraw XADD mf:q:image '*' id "$id" >/dev/null
    echo "$id"
}

# mf_text_score FILE EXPECTED: character similarity (0..1, difflib) of two texts with
# whitespace runs folded; mf_similar FILE EXPECTED MIN: true when it is at least MIN.
mf_text_score() {
    python3 - "$@" <<'PY'
import difflib, sys
a, b = (" ".join(open(p, encoding="utf-8", errors="replace").read().split()) for p in sys.argv[1:3])
print("%.3f" % difflib.SequenceMatcher(None, a, b, autojunk=False).ratio())
PY
}
mf_similar() {
    local r
    r=$(mf_text_score "$1" "$2")
    printf 'similarity %s\n' "$r" >&2
    awk -v r="$r" -v m="$3" 'BEGIN {exit !(r >= m)}'
}

# mf_drop NAME SRC: uploads SRC to $MF_INBOX/NAME the way browsers and rsync do, under a
# temporary .part name renamed when complete (subfolders created as needed).
mf_drop() {
    mkdir -p "$(dirname "$MF_INBOX/$1")"
    cp "$2" "$MF_INBOX/$1.part" && mv "$MF_INBOX/$1.part" "$MF_INBOX/$1"
}
