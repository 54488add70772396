#!/usr/bin/env bash
# The model lane's whole job (thumb-512.png, turntable.webp, model.glb, lod-1.glb, lod-2.glb)
# on a generated 100,000-triangle mesh, against the stock tools doing the same work in the
# same run: `assimp export -fglb2` (the GLB) and gltfpack -si 0.5 / -si 0.1 (the LODs; npm
# package gltfpack: $GLTFPACK, on PATH, or installed by this script into <build>/npm) and
# f3d's offscreen render of a 512 px thumbnail of the GLB (Debian packages f3d and xvfb:
# Debian's f3d renders through X only, so under xvfb-run, whose start is counted; when they
# are missing the stock side renders nothing). The stock side makes no turntable, so the
# ratio favours it. Then the peak RSS of the whole job on 1,000,000 triangles (target
# <= 600 MB), median of RUNS as well.
# Usage: bench/model.sh [RUNS]   (default 3; median of RUNS)
source "$(dirname "$0")/lib.sh"
RUNS=${1:-3}
# gltfpack: $GLTFPACK, else on PATH, else the npm package (meshoptimizer's, WASM; pinned)
# installed once into <build>/npm beside the tests' gltf-validator, when node and npm are there
MF_GLTFPACK_VERSION=1.3.0
GLTFPACK=${GLTFPACK:-$(command -v gltfpack || true)}
if [ -z "$GLTFPACK" ] && command -v node >/dev/null && command -v npm >/dev/null; then
    npm_dir=$BIN/../npm
    mkdir -p "$npm_dir"
    (
        flock 9
        [ -f "$npm_dir/node_modules/gltfpack/package.json" ] &&
            grep -q "\"version\": \"$MF_GLTFPACK_VERSION\"" \
                "$npm_dir/node_modules/gltfpack/package.json" && exit 0
        npm install --no-audit --no-fund --no-save --prefix "$npm_dir" \
            "gltfpack@$MF_GLTFPACK_VERSION" >"$npm_dir/install-gltfpack.log" 2>&1
    ) 9>"$npm_dir/.lock" || echo "npm install gltfpack failed: the stock side has no LODs" >&2
    [ -x "$npm_dir/node_modules/.bin/gltfpack" ] && GLTFPACK=$npm_dir/node_modules/.bin/gltfpack
fi

# the stock offscreen render: f3d under a throw-away X server
F3D=
if command -v f3d >/dev/null && command -v xvfb-run >/dev/null; then
    F3D=f3d
else
    echo "f3d or xvfb-run missing (apt-get install f3d xvfb): the stock side renders nothing" >&2
fi

# mk_sphere FILE RINGS: an OBJ UV sphere of 4 x RINGS^2 triangles (ellipsoidal, Z up)
mk_sphere() {
    python3 - "$1" "$2" <<'PY'
import math, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n + 1):
        t = math.pi * i / n
        for j in range(2 * n):
            p = math.pi * j / n
            f.write("v %f %f %f\n" % (1.6 * math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), 3 * math.cos(t)))
    for i in range(n):
        for j in range(2 * n):
            a, b = i * 2 * n + j + 1, i * 2 * n + (j + 1) % (2 * n) + 1
            f.write("f %d %d %d\nf %d %d %d\n" % (a, a + 2 * n, b, b, a + 2 * n, b + 2 * n))
PY
}
mk_sphere "$W/m100k.obj" 158
mk_sphere "$W/m1m.obj" 500

# run_timed NAME CMD...: appends "wall cpu" of CMD to $W/NAME (GNU time: elapsed, user+sys)
run_timed() {
    local name=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$W/t" "$@" >/dev/null 2>&1 || { echo "$name failed" >&2; exit 1; }
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$W/t" >>"$W/$name"
}
for _ in $(seq "$RUNS"); do
    rm -rf "$W/out" && mkdir -p "$W/out"
    run_timed ours "$BIN/mf-worker-model" process "$W/m100k.obj" --out "$W/out"
    run_timed stock_glb assimp export "$W/m100k.obj" "$W/stock.glb" -fglb2
    if [ -n "$GLTFPACK" ]; then
        run_timed stock_lod "$GLTFPACK" -i "$W/stock.glb" -o "$W/stock-lod1.glb" -si 0.5
        run_timed stock_lod "$GLTFPACK" -i "$W/stock.glb" -o "$W/stock-lod2.glb" -si 0.1
    fi
    if [ -n "$F3D" ]; then
        rm -f "$W/stock-thumb.png"
        run_timed stock_render xvfb-run -a f3d --output="$W/stock-thumb.png" --resolution=512,512 \
            "$W/stock.glb"
        [ -s "$W/stock-thumb.png" ] || { echo "f3d wrote no thumbnail" >&2; exit 1; }
    fi
done
col() { awk -v c="$2" '{print $c}' "$W/$1"; }
sum_pairs() { paste -d' ' - - <"$W/$1" | awk -v c="$2" '{print $c + $(c + 2)}'; }
w_ours=$(median $(col ours 1)) c_ours=$(median $(col ours 2))
w_glb=$(median $(col stock_glb 1)) c_glb=$(median $(col stock_glb 2))
w_lod=0 c_lod=0
if [ -n "$GLTFPACK" ]; then
    w_lod=$(median $(sum_pairs stock_lod 1)) c_lod=$(median $(sum_pairs stock_lod 2))
fi
w_render=0 c_render=0
if [ -n "$F3D" ]; then
    w_render=$(median $(col stock_render 1)) c_render=$(median $(col stock_render 2))
fi
w_stock=$(awk -v a="$w_glb" -v b="$w_lod" -v c="$w_render" 'BEGIN {printf "%.2f", a + b + c}')
c_stock=$(awk -v a="$c_glb" -v b="$c_lod" -v c="$c_render" 'BEGIN {printf "%.2f", a + b + c}')
tris=$(jq -r .meta.triangles "$W/out/meta.json")
rss_ours=() rss_glb=()
for _ in $(seq "$RUNS"); do
    rm -rf "$W/out1m"
    rss_ours+=("$(peak_rss_mb "$BIN/mf-worker-model" process "$W/m1m.obj" --out "$W/out1m")")
    rss_glb+=("$(peak_rss_mb assimp export "$W/m1m.obj" "$W/stock1m.glb" -fglb2)")
done
[ -s "$W/out1m/model.glb" ] || { echo "the 1,000,000-triangle job failed" >&2; exit 1; }
rss_1m=$(median "${rss_ours[@]}") rss_glb_1m=$(median "${rss_glb[@]}")

summary="${tris} triangles, median of $RUNS: ours (whole job: thumbnail, turntable 16 frames, GLB, 2 LODs) ${w_ours}s wall, ${c_ours}s cpu; stock (assimp export glb2${GLTFPACK:+ + gltfpack -si 0.5 and 0.1}${F3D:+ + f3d 512 px thumbnail under xvfb-run}${F3D:+; no turntable}${F3D:-; no render}) ${w_stock}s wall, ${c_stock}s cpu (assimp ${w_glb}s${GLTFPACK:+, gltfpack ${w_lod}s}${F3D:+, f3d ${w_render}s}): ours/stock wall $(ratio "$w_ours" "$w_stock")x, cpu $(ratio "$c_ours" "$c_stock")x. Peak RSS on 1,000,000 triangles, median of $RUNS: ours ${rss_1m} MB (target <= 600; runs: ${rss_ours[*]}), assimp export alone ${rss_glb_1m} MB"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`${MF_BENCH_PRIORITY:+MF_BENCH_PRIORITY=1 }bench/model.sh $RUNS\` (OBJ ellipsoids made by the script; \`mf-worker-model process\`, one process per job as one-shot mode runs it)"
        echo "- result: $summary"
        echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    } >"$W/section.md"
    results_section "3D models" "$W/section.md"
fi
