#!/usr/bin/env bash
# Quick start, command 1: install the dependencies, build (Release) into ./build and run a
# local fleet with `mfctl up`: embedded redis under ./.mf-state, inbox ./inbox, outbox
# ./outbox. Extra arguments go to `mfctl up` (e.g. --workers image=4). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/bin/mfctl up "$@"
