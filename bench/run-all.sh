#!/usr/bin/env bash
# Every benchmark, one after the other, each writing its section of bench/RESULTS.md:
#   MF_BIN_DIR=build/bin bench/run-all.sh        (build first: cmake --build build)
# About 15 minutes on 2 cores. The machine should be otherwise idle: the figures are ratios
# against the stock tools run in the same run, but a busy neighbour still skews wall times.
set -uo pipefail
cd "$(dirname "$0")"
export MF_BIN_DIR=${MF_BIN_DIR:-$(cd .. && pwd)/build/bin}
failed=()
run() {
    printf '\n=== %s\n' "$*"
    "$@" || failed+=("$*")
}
run bash dispatcher.sh
run env RATE=10000 bash dispatcher.sh
run bash image.sh
run bash video.sh 10 3
run bash doc.sh
run bash magic.sh
run bash memory.sh
run bash e2e.sh
run bash autoscale.sh
run bash capacity.sh
[ ${#failed[@]} -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}" >&2; exit 1; }
