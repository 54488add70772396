# Shared bench helpers: a private redis-server, timing, medians, and a RESULTS.md writer.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BIN=${MF_BIN_DIR:-$ROOT/build/bin}
W=$(mktemp -d "${TMPDIR:-/tmp}/mf-bench.XXXXXX")
BENCH_PIDS=()

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${BENCH_PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${MF_KEEP_BENCH:-}" ] || rm -rf "$W"
}
trap bench_cleanup EXIT

# MF_BENCH_PRIORITY=1: run the bench and everything it starts in a cpu cgroup with 256 times
# the default share (v1 cpu.shares, v2 cpu.weight), so other work on a shared machine takes
# little CPU from it (nice does not reach across sessions where autogroup is on). Needs root;
# without it the bench runs as it is and says so.
bench_priority() {
    local g
    [ -n "${MF_BENCH_PRIORITY:-}" ] || return 0
    if [ -d /sys/fs/cgroup/cpu ] && mkdir -p /sys/fs/cgroup/cpu/mfbench 2>/dev/null &&
        echo 262144 >/sys/fs/cgroup/cpu/mfbench/cpu.shares 2>/dev/null; then
        g=/sys/fs/cgroup/cpu/mfbench
    elif [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir -p /sys/fs/cgroup/mfbench 2>/dev/null &&
        echo 10000 >/sys/fs/cgroup/mfbench/cpu.weight 2>/dev/null; then
        g=/sys/fs/cgroup/mfbench
    fi
    if [ -n "${g:-}" ] && echo $$ >"$g/cgroup.procs" 2>/dev/null; then
        echo "bench: CPU priority over other work ($g)" >&2
    else
        echo "bench: MF_BENCH_PRIORITY asked, but no cpu cgroup could be made: running as is" >&2
    fi
}
bench_priority

bench_redis() {
    mkdir -p "$W/redis"
    redis-server --port 0 --unixsocket "$W/redis.sock" --dir "$W/redis" --save "" \
        --appendonly no --daemonize no >"$W/redis.log" 2>&1 &
    BENCH_PIDS+=($!)
    for _ in $(seq 100); do redis-cli -s "$W/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
    export MF_REDIS_URL="unix://$W/redis.sock"
}
rc() { redis-cli -s "$W/redis.sock" --raw "$@"; }

now() { date +%s.%N; }
# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
# peak RSS in MB of a command (GNU time)
peak_rss_mb() { /usr/bin/time -f '%M' -o "$W/rss" "$@" >/dev/null 2>&1 || true; awk '{printf "%.1f", $1/1024}' "$W/rss"; }

# tree_stats PID: /proc/<pid>/stat of PID and all its descendants, one line each.
tree_stats() {
    local pids=$1 all=$1 p kids
    while [ -n "$pids" ]; do
        kids=""
        for p in $pids; do kids="$kids $(cat /proc/"$p"/task/*/children 2>/dev/null || true)"; done
        pids=$(echo $kids)
        all="$all $pids"
    done
    for p in $all; do cat /proc/"$p"/stat 2>/dev/null || true; done # some may have exited
}

# cpu_tree PID: user+sys seconds of PID and its descendants (live ones, plus reaped children).
cpu_tree() {
    tree_stats "$1" | awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15}
        END {printf "%.2f", t / hz}'
}

# cpu_by_name PID: "name seconds" lines, user+sys of PID and its descendants summed by
# process name (an executor that was stopped counts in its worker's reaped-children time,
# so the worker's and its executor's names are folded into mf-<lane>).
cpu_by_name() {
    tree_stats "$1" | awk -v hz="$(getconf CLK_TCK)" '{
        name = $2; gsub(/[()]/, "", name); sub(/^mf-(worker|exec)-/, "mf-", name)
        sub(/^.*\) /, ""); t[name] += $12 + $13 + $14 + $15}
        END {for (n in t) printf "%s %.2f\n", n, t[n] / hz}' | sort
}

# TERMINAL_LUA with KEYS[1] = mf:paths: how many recorded files are in a terminal state.
TERMINAL_LUA="local n = 0
for _, id in ipairs(redis.call('HVALS', KEYS[1])) do
  local s = redis.call('HGET', 'mf:file:' .. id, 'status')
  if s == 'done' or s == 'failed' or s == 'duplicate' or s == 'unsupported' then n = n + 1 end
end
return n"

# wait_drained SOCK TOTAL SECONDS: waits until TOTAL recorded files are in a terminal state and
# prints the epoch seconds of the last one's finished_at (ms), or fails after SECONDS. One
# redis-cli polls every 50 ms on one connection. A redis-cli process per poll costs ~16 ms of
# CPU (fork, exec, connect): ten a second took a sixth of a core, which a fleet with every core
# busy lost and a fleet with an idle core did not.
DRAIN_LUA="local n, last = 0, ''
for _, id in ipairs(redis.call('HVALS', KEYS[1])) do
  local r = redis.call('HMGET', 'mf:file:' .. id, 'status', 'finished_at')
  local s = r[1]
  if s == 'done' or s == 'failed' or s == 'duplicate' or s == 'unsupported' then
    n = n + 1
    if r[2] and r[2] > last then last = r[2] end
  end
end
return n .. ' ' .. last"
wait_drained() {
    local n=0 last= rc=1
    coproc MF_DRAIN { exec timeout "$3" redis-cli -s "$1" -r -1 -i 0.05 EVAL "$DRAIN_LUA" 1 mf:paths 2>/dev/null; }
    while read -r n last <&"${MF_DRAIN[0]}"; do
        if [ "$n" -ge "$2" ] 2>/dev/null; then
            rc=0
            break
        fi
    done
    kill "$MF_DRAIN_PID" 2>/dev/null
    wait "$MF_DRAIN_PID" 2>/dev/null
    [ "$rc" = 0 ] || { echo "wait_drained: ${n:-0} of $2 files terminal after $3 s" >&2; return 1; }
    date -d "$last" +%s.%N
}

machine() {
    printf '%s, %s cores, %s, %s' "$(uname -m)" "$(getconf _NPROCESSORS_ONLN)" \
        "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)" \
        "$(. /etc/os-release && echo "$PRETTY_NAME")"
}

# results_section TITLE FILE: replaces the section "## TITLE" of bench/RESULTS.md with FILE.
results_section() {
    local title=$1 body=$2 out=$BENCH_DIR/RESULTS.md
    [ -f "$out" ] || printf '# Benchmark results\n\nLatest figures, newest run per section. Ratios compare against the stock tools run in the same run on the same inputs.\n' >"$out"
    awk -v t="## $title" '
        $0 == t {skip = 1; next}
        skip && /^## / {skip = 0}
        !skip {print}' "$out" >"$W/results"
    { cat "$W/results"; printf '\n## %s\n\n' "$title"; cat "$body"; } | cat -s >"$out"
}
