# Helpers shared by the video lane's one-shot tests (source after lib.sh).
W=$MF_BIN_DIR/mf-worker-video
[ -x "$W" ] || mf_fail "no $W"
command -v jq >/dev/null || mf_fail "jq is needed"
trap mf_cleanup EXIT
mkdir -p "$T/logs"

ff() { ffmpeg -nostdin -v error -y "$@" || mf_fail "ffmpeg $*"; }
probe() { ffprobe -v error -of default=nw=1:nk=1 "$@"; }
# run FILE OUTDIR [ARGS]: one-shot, record in OUTDIR.json, must succeed with status done
run() {
    "$W" process "$1" --out "$2" "${@:3}" >"$2.json" 2>>"$T/logs/worker.log" ||
        mf_fail "process $1: $(jq -r .error "$2.json" 2>/dev/null)"
    mf_assert_eq "$(jq -r .status "$2.json")" done "status of $1"
}
# near A B TOL: |A-B| <= TOL
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
