#!/usr/bin/env bash
# The automatic plan against the static one, side by side in one run (issue: operate).
#   A. 40 scanned one-page PDFs alone: `mfctl up --workers image=2,video=1,doc=1` (the static
#      plan on 2 cores) vs `mfctl up` (workers=auto: slots follow the backlog). Goal: auto
#      drains at least 1.7x faster. For reference, the plan auto arrives at, fixed and running
#      before the files arrive (`image=1,video=1,doc=2`): what planning after they arrive costs.
#   B. a mixed backlog (photos, clips, scanned and text PDFs) with workers=auto: the drain time
#      against the ideal, the fleet's CPU seconds / cores. Goal: within 1.15x.
# Usage: bench/autoscale.sh [SCANS] [RUNS]   (defaults 40 and 3; medians are reported)
source "$(dirname "$0")/lib.sh"
SCANS=${1:-40}
RUNS=${2:-3}
CORES=$(getconf _NPROCESSORS_ONLN)
[ -x "$BIN/mfctl" ] && [ -x "$BIN/mf-doc-mkfixture" ] ||
    { echo "bench/autoscale.sh: build first ($BIN)" >&2; exit 2; }

# ---- inputs: every file different (a trailing PDF comment), the same work each -----------
SCAN=$W/scans MIX=$W/mixed
mkdir -p "$SCAN" "$MIX"
"$BIN/mf-doc-mkfixture" scan "$W/scan.pdf" 0 1 >/dev/null
for i in $(seq "$SCANS"); do { cat "$W/scan.pdf"; printf '%% copy %d\n' "$i"; } >"$SCAN/scan-$i.pdf"; done
for i in $(seq 12); do
    vips gaussnoise "$W/n.v" 3000 2000 --mean 128 --sigma 60 --seed "$i"
    vips gaussblur "$W/n.v" "$MIX/photo-$i.jpg[Q=90]" 2
done
rm -f "$W/n.v"
for i in 1 2; do
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=4,hue=h=$((i * 40))" \
        -f lavfi -i "sine=frequency=$((300 + i * 100)):duration=4" -c:v libx264 -preset veryfast \
        -g 30 -pix_fmt yuv420p -c:a aac -b:a 128k "$MIX/clip-$i.mp4"
done
for i in $(seq 10); do { cat "$W/scan.pdf"; printf '%% mixed %d\n' "$i"; } >"$MIX/scan-$i.pdf"; done
for i in 1 2 3; do "$BIN/mf-doc-mkfixture" text "$MIX/text-$i.pdf" $((2 + i)) >/dev/null; done

# run_fleet SRC [mfctl up args...]: prints "wall cpu" of draining SRC through a fresh fleet.
run_fleet() {
    local src=$1 d=$W/fleet pid t0 t1 c0 c1 total sock
    shift
    rm -rf "$d" && mkdir -p "$d/inbox" "$d/outbox" "$d/state" "$d/stage"
    cp "$src"/* "$d/stage/"
    total=$(find "$d/stage" -type f | wc -l)
    sock=$d/state/redis.sock
    (unset MF_REDIS_URL; export MF_INBOX=$d/inbox MF_OUTBOX=$d/outbox MF_STATE_DIR=$d/state MF_HTTP_LISTEN= \
        MF_LOG_LEVEL=info; exec "$BIN/mfctl" up "$@" >"$d/fleet.log" 2>&1) &
    pid=$!
    BENCH_PIDS+=($pid)
    for _ in $(seq 300); do
        [ "$(redis-cli -s "$sock" CLIENT LIST 2>/dev/null | grep -c 'name=worker-')" -ge 3 ] && break
        sleep 0.1
    done
    sleep 1
    c0=$(cpu_tree "$pid")
    t0=$(now)
    mv "$d"/stage/* "$d/inbox/"
    t1=$(wait_drained "$sock" "$total" 900) || exit 1
    c1=$(cpu_tree "$pid")
    grep -o 'msg="plan [^"]*" reason="[^"]*"' "$d/fleet.log" | tail -n 3 >"$W/plans.$$" || true
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    awk -v a="$t0" -v b="$t1" -v c="$c0" -v e="$c1" 'BEGIN {printf "%.2f %.2f\n", b - a, e - c}'
}

declare -a s_static s_auto s_bound m_wall m_cpu m_ratio
plans= mplans=
for r in $(seq "$RUNS"); do
    read -r w _ <<<"$(run_fleet "$SCAN" --workers image=2,video=1,doc=1)"
    s_static+=("$w")
    read -r w _ <<<"$(run_fleet "$SCAN")"
    s_auto+=("$w")
    plans=$(paste -sd';' "$W/plans.$$" 2>/dev/null || true)
    read -r w _ <<<"$(run_fleet "$SCAN" --workers image=1,video=1,doc=2)"
    s_bound+=("$w")
    read -r w c <<<"$(run_fleet "$MIX")"
    mplans=$(paste -sd';' "$W/plans.$$" 2>/dev/null || true)
    m_wall+=("$w")
    m_cpu+=("$c")
    m_ratio+=("$(awk -v w="$w" -v c="$c" -v n="$CORES" 'BEGIN {printf "%.2f", w / (c / n)}')")
    echo "run $r: scans static ${s_static[-1]}s auto ${s_auto[-1]}s doc=2 ${s_bound[-1]}s; mixed ${w}s cpu ${c}s (ideal $(awk -v c="$c" -v n="$CORES" 'BEGIN {printf "%.2f", c / n}')s)"
done
ms=$(median "${s_static[@]}") ma=$(median "${s_auto[@]}") mb=$(median "${s_bound[@]}")
mw=$(median "${m_wall[@]}") mc=$(median "${m_cpu[@]}") mr=$(median "${m_ratio[@]}")
cat >"$W/section" <<EOT
Machine: $(machine). Command: \`${MF_BENCH_PRIORITY:+MF_BENCH_PRIORITY=1 }bench/autoscale.sh $SCANS $RUNS\` ($(date -u +%Y-%m-%d)), median of $RUNS runs, each on a fresh \`mfctl up\` with its embedded Redis, timed from the files' arrival to the last record's \`finished_at\`. The bench waits on one redis-cli connection that polls every 50 ms, so it takes next to nothing from the fleet's cores.

| backlog | static \`image=2,video=1,doc=1\` | \`workers=auto\` | ratio | goal |
|---|---|---|---|---|
| $SCANS scanned one-page PDFs | ${ms} s (runs ${s_static[*]}) | ${ma} s (runs ${s_auto[*]}) | $(ratio "$ms" "$ma")x | >= 1.7x |

For reference, the plan auto arrives at, fixed and already running when the files arrive (\`--workers image=1,video=1,doc=2\`): ${mb} s (runs ${s_bound[*]}), $(ratio "$ms" "$mb")x the static plan; auto takes $(ratio "$ma" "$mb")x its time (what planning after the files arrive costs).

Mixed backlog with \`workers=auto\` (12 photos 3000x2000, 2 clips 4 s 1080p, 10 scanned and 3 text PDFs): ${mw} s wall, ${mc} s of the fleet's CPU (every process: workers, executors, dispatcher, Redis); ideal = CPU / $CORES cores = $(awk -v c="$mc" -v n="$CORES" 'BEGIN {printf "%.2f", c / n}') s; wall / ideal $mr (runs ${m_ratio[*]}; goal <= 1.15).

Last plans logged in the scans run with auto: ${plans:-none}; in the mixed run: ${mplans:-none}. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine takes cores from the fleet: the wall times, not the CPU seconds, suffer${MF_BENCH_PRIORITY:+; with MF_BENCH_PRIORITY the bench ran in a cpu cgroup with 256 times the share of that work}).
EOT
cat "$W/section"
results_section "Autoscale: workers=auto vs the static plan" "$W/section"
