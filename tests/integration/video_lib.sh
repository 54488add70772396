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
# fails FILE OUTDIR PATTERN [ARGS]: one-shot must exit 1 with status failed and an error matching
# PATTERN (grep -E). Outputs written before the failure are the runtime's to clear (issue 15
# item 13), not asserted here.
fails() {
    local rc=0
    timeout 120 "$W" process "$1" --out "$2" "${@:4}" >"$2.json" 2>>"$T/logs/worker.log" || rc=$?
    mf_assert_eq "$rc" 1 "exit status for $1"
    mf_assert_eq "$(jq -r .status "$2.json")" failed "status of $1"
    jq -r .error "$2.json" | grep -Eq -- "$3" ||
        mf_fail "$1: error '$(jq -r .error "$2.json")' does not match '$3'"
    mf_log "$1: $(jq -r .error "$2.json")"
}
# damage SRC DST STREAM EVERY HOW: rewrites the payload of every EVERY-th packet of STREAM
# (ffprobe's -select_streams: v, a) found by its bytes near the packet's position; HOW is "ff"
# (every byte 0xff) or "bit0" (sets bit 0 of the first byte: a Vorbis audio packet must start
# with it clear). Prints how many packets it changed.
damage() {
    python3 - "$@" <<'PY'
import json, subprocess, sys
src, dst, sel, every, how = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
out = subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", sel, "-show_entries",
                               "packet=pos,size,data", "-show_data", "-of", "json", src])
b = bytearray(open(src, "rb").read())
n = 0
for i, p in enumerate(json.loads(out)["packets"]):
    lines = p["data"].strip().splitlines()
    head = bytes.fromhex("".join(lines[0][10:49].split()))[:8] if lines else b""
    pos = b.find(head, int(p["pos"])) if len(head) == 8 else -1
    if i % every != 0 or not 0 <= pos < int(p["pos"]) + 32:
        continue
    if how == "ff":
        b[pos:pos + int(p["size"])] = b"\xff" * int(p["size"])
    else:
        b[pos] |= 1
    n += 1
open(dst, "wb").write(b)
print(n)
PY
}
