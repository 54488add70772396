#!/usr/bin/env bash
# Many hosts on one machine: each "host" is a network namespace (its own IP on a bridge,
# veth pairs) and a UTS namespace (its own host name, which the worker registry records), so
# the fleet runs as it would on separate machines sharing a Redis over TCP and a file system
# (the inbox and outbox folders, as an NFS share would be). Host 1 runs Redis, host 2 the
# dispatcher, hosts 3..N the workers. Needs root (ip netns) and the built binaries.
#
#   deploy/sim/hosts.sh up DIR N [WORKERS]   start N >= 3 hosts; state, logs, inbox, outbox
#                                            in DIR; WORKERS per worker host (default
#                                            "image=1,video=1,doc=1")
#   deploy/sim/hosts.sh status DIR           mfctl status against the fleet's Redis
#   deploy/sim/hosts.sh kill DIR HOST        SIGKILL every process of host HOST (e.g. 3)
#   deploy/sim/hosts.sh down DIR             stop everything, remove namespaces and links
#
# Environment: MF_BIN_DIR (default build/bin), SIM_ID (4 hex digits naming the namespaces
# mfs<ID>h<i>, bridge mfs<ID>b; default from DIR), SIM_NET (first three octets, default
# 10.<ID-derived>.<...>), and any MF_* setting, passed to every process.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${MF_BIN_DIR:-$here/../../build/bin}
BIN=$(cd "$BIN" && pwd)

usage() {
    sed -n '9,14p' "$0" >&2
    exit 2
}

# the names of one simulation, kept in DIR/sim.env so later commands find them
sim_load() {
    local dir=$1
    if [ -f "$dir/sim.env" ]; then
        # shellcheck disable=SC1091
        source "$dir/sim.env"
        return
    fi
    local h
    h=$(printf '%s' "$(cd "$dir" && pwd)" | sha256sum | cut -c1-4)
    SIM_ID=${SIM_ID:-$h}
    SIM_NET=${SIM_NET:-10.$((16#${SIM_ID:0:2} % 200 + 20)).$((16#${SIM_ID:2:2}))}
    printf 'SIM_ID=%s\nSIM_NET=%s\n' "$SIM_ID" "$SIM_NET" >"$dir/sim.env"
}

ns() { echo "mfs${SIM_ID}h$1"; }
bridge() { echo "mfs${SIM_ID}b"; }
ip_of() { echo "$SIM_NET.$((10 + $1))"; }

# host_run I NAME CMD...: CMD in host I's namespaces, named host NAME, in the background,
# its log in DIR/logs/NAME.log
host_run() {
    local i=$1 name=$2
    shift 2
    ip netns exec "$(ns "$i")" unshare --uts -- sh -c 'hostname "$0" && exec "$@"' \
        "$(ns "$i")" "$@" >>"$DIR/logs/$name.log" 2>&1 &
    echo $! >"$DIR/pids/$name"
}

up() {
    local n=$1 workers=${2:-image=1,video=1,doc=1}
    [ "$n" -ge 3 ] || {
        echo "hosts.sh: at least 3 hosts (redis, dispatcher, workers)" >&2
        exit 2
    }
    mkdir -p "$DIR/inbox" "$DIR/outbox" "$DIR/logs" "$DIR/pids" "$DIR/redis"
    local br
    br=$(bridge)
    ip link add "$br" type bridge
    ip addr add "$SIM_NET.1/24" dev "$br"
    ip link set "$br" up
    for i in $(seq 1 "$n"); do
        local h v
        h=$(ns "$i")
        v="mfs${SIM_ID}v$i"
        ip netns add "$h"
        ip link add "$v" type veth peer name eth0 netns "$h"
        ip link set "$v" master "$br" up
        ip -n "$h" addr add "$(ip_of "$i")/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" link set lo up
    done
    echo "$n" >"$DIR/hosts"
    export MF_REDIS_URL="redis://$(ip_of 1):6379" MF_INBOX="$DIR/inbox" MF_OUTBOX="$DIR/outbox"
    host_run 1 redis redis-server --bind "$(ip_of 1)" --port 6379 --protected-mode no \
        --save "" --appendonly no --dir "$DIR/redis"
    for _ in $(seq 1 100); do
        redis-cli -h "$(ip_of 1)" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -h "$(ip_of 1)" ping >/dev/null || {
        echo "hosts.sh: redis did not start" >&2
        exit 1
    }
    host_run 2 dispatcher "$BIN/mf-dispatcher"
    for i in $(seq 3 "$n"); do
        local item lane count k
        for item in ${workers//,/ }; do
            lane=${item%%=*}
            count=${item#*=}
            for k in $(seq 1 "$count"); do
                [ "$count" -gt 0 ] || continue
                host_run "$i" "h$i-$lane-$k" "$BIN/mf-worker-$lane"
            done
        done
    done
    echo "MF_REDIS_URL=$MF_REDIS_URL"
    echo "MF_INBOX=$MF_INBOX MF_OUTBOX=$MF_OUTBOX"
}

# until none is left: a process may fork between the listing and the kill, and a killed
# process stays listed until the kernel has torn it down
kill_host() {
    local h pids i
    h=$(ns "$1")
    for i in $(seq 50); do
        pids=$(ip netns pids "$h" 2>/dev/null || true)
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.1
    done
    echo "hosts.sh: processes of $h survive SIGKILL: $pids" >&2
    return 1
}

down() {
    local n i
    n=$(cat "$DIR/hosts" 2>/dev/null || echo 0)
    for i in $(seq "$n" -1 1); do
        kill_host "$i" || true
    done
    sleep 0.2
    for i in $(seq 1 "$n"); do
        ip netns del "$(ns "$i")" 2>/dev/null || true
        ip link del "mfs${SIM_ID}v$i" 2>/dev/null || true
    done
    ip link del "$(bridge)" 2>/dev/null || true
    rm -f "$DIR/hosts"
}

[ $# -ge 2 ] || usage
cmd=$1
DIR=$2
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
sim_load "$DIR"
case $cmd in
up)
    [ $# -ge 3 ] || usage
    up "$3" "${4:-}"
    ;;
status) MF_REDIS_URL="redis://$(ip_of 1):6379" "$BIN/mfctl" status ;;
kill)
    [ $# -ge 3 ] || usage
    kill_host "$3"
    ;;
down) down ;;
*) usage ;;
esac
