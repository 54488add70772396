#!/usr/bin/env bash
# Capacity on paper: measures each kind of input's CPU cost per input byte with the lanes'
# one-shot mode (`mf-worker-<lane> process`: the same code as a fleet job, outputs and
# meta.json included), then turns a daily volume and a mix (shares of the bytes) into the
# cores a fleet needs. Inputs, made here:
#   photo  12 MP JPEGs (a photo scaled up, with sensor-like noise, quality 92)
#   video  1080p30 H.264 + AAC at ~8 Mbit/s (camera-like; noise keeps the bitrate up)
#   scan   image-only PDF pages (mf-doc-mkfixture scan): OCR on every page
#   text   PDFs with a text layer (mf-doc-mkfixture text)
# Video runs with video_threads=1, as on a fleet whose cores are all busy (threads only add
# overhead there: README, "workers=auto"); OCR with OMP_THREAD_LIMIT=1 as in the fleet.
# Writes the "Capacity" section of bench/RESULTS.md.
#   MF_BIN_DIR=build/bin bench/capacity.sh [DAILY_TB (5)] [MIX (photo=40,video=50,scan=5,text=5)]
source "$(dirname "$0")/lib.sh"
DAILY_TB=${1:-5}
MIX=${2:-photo=40,video=50,scan=5,text=5}
PHOTOS=${PHOTOS:-4}
VIDEO_S=${VIDEO_S:-20}
SCAN_PAGES=${SCAN_PAGES:-4}
TEXT_PAGES=${TEXT_PAGES:-50}
BUSY=${BUSY:-0.7} # plan for cores this busy on average (peaks, retries, the dispatcher)
# The document fixtures are small cairo pages (a few lines of text, a 200 dpi image of them)
# far smaller in bytes than real pages, so their cost per byte would overstate a real mix
# many times over: documents are planned per page instead, at these sizes (assumptions,
# stated in the output; a 300 dpi A4 scan as JPEG is typically 200-500 KB, a text page of an
# office PDF 20-100 KB).
SCAN_PAGE_KB=${SCAN_PAGE_KB:-300}
TEXT_PAGE_KB=${TEXT_PAGE_KB:-50}
export OMP_THREAD_LIMIT=1 MF_VIDEO_THREADS=1 MF_LOG_LEVEL=warn

for b in mf-worker-image mf-worker-video mf-worker-doc mf-doc-mkfixture; do
    [ -x "$BIN/$b" ] || { echo "bench/capacity.sh: build $b first ($BIN)" >&2; exit 2; }
done
for tool in vips ffmpeg; do
    command -v "$tool" >/dev/null || { echo "bench/capacity.sh: $tool not installed" >&2; exit 2; }
done

# cpu CMD...: user + sys seconds of CMD and its children
cpu() {
    local t
    t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1) ||
        { echo "bench/capacity.sh: failed: $*" >&2; exit 1; }
    awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}

mkdir -p "$W/in/photo" "$W/in/video" "$W/in/scan" "$W/in/text"
for i in $(seq 1 "$PHOTOS"); do
    vips resize "$ROOT/tests/fixtures/image/astronaut.jpg" "$W/big.v" 7.8125 --vscale 5.859375
    vips gaussnoise "$W/noise.v" 4000 3000 --sigma 6 --mean 0 --seed "$i"
    vips bandjoin "$W/noise.v $W/noise.v $W/noise.v" "$W/noise3.v"
    vips add "$W/big.v" "$W/noise3.v" "$W/sum.v"
    vips cast "$W/sum.v" "$W/photo.v" uchar
    vips copy "$W/photo.v" "$W/in/photo/p$i.jpg[Q=92]"
done
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$VIDEO_S" \
    -f lavfi -i "sine=frequency=300:duration=$VIDEO_S" -vf "noise=alls=12:allf=t" \
    -c:v libx264 -preset veryfast -b:v 8M -maxrate 8M -bufsize 16M -c:a aac -b:a 160k \
    -shortest "$W/in/video/v1.mp4"
"$BIN/mf-doc-mkfixture" scan "$W/in/scan/s1.pdf" 0 "$SCAN_PAGES"
"$BIN/mf-doc-mkfixture" text "$W/in/text/t1.pdf" "$TEXT_PAGES"

lane_of() { case $1 in photo) echo image ;; video) echo video ;; *) echo doc ;; esac; }
: >"$W/costs"
for kind in photo video scan text; do
    bytes=0 secs=0 n=0
    for f in "$W/in/$kind"/*; do
        rm -rf "$W/out"
        s=$(cpu "$BIN/mf-worker-$(lane_of "$kind")" process "$f" --out "$W/out")
        [ -s "$W/out/meta.json" ] || { echo "bench/capacity.sh: no meta.json for $f" >&2; exit 1; }
        bytes=$((bytes + $(stat -c %s "$f")))
        secs=$(awk -v a="$secs" -v b="$s" 'BEGIN { print a + b }')
        n=$((n + 1))
    done
    # CPU seconds per GB of input: measured for photos and video; for documents per page, at
    # the assumed page size
    case $kind in
    scan) plan_bytes=$((SCAN_PAGES * SCAN_PAGE_KB * 1000)) basis="per page, ${SCAN_PAGE_KB} KB/page assumed" ;;
    text) plan_bytes=$((TEXT_PAGES * TEXT_PAGE_KB * 1000)) basis="per page, ${TEXT_PAGE_KB} KB/page assumed" ;;
    *) plan_bytes=$bytes basis=measured ;;
    esac
    pages=$(case $kind in scan) echo "$SCAN_PAGES" ;; text) echo "$TEXT_PAGES" ;; *) echo - ;; esac)
    echo "$kind $n $bytes $secs $(awk -v s="$secs" -v b="$plan_bytes" 'BEGIN { printf "%.2f", s / (b / 1e9) }') $pages $basis" >>"$W/costs"
done

# the dispatcher hashes every byte (SHA-256): its cost per GB, from sha256sum on the same inputs
all_bytes=$(cat "$W"/in/*/* | wc -c)
hash_s=$(cpu sh -c "cat '$W'/in/*/* | sha256sum")
hash_per_gb=$(awk -v s="$hash_s" -v b="$all_bytes" 'BEGIN { printf "%.2f", s / (b / 1e9) }')

# cores for DAILY_TB of the mix
awk -v hash_per_gb="$hash_per_gb" -v mix="$MIX" -v tb="$DAILY_TB" -v busy="$BUSY" -v machine="$(machine)" -v date="$(date -u +%Y-%m-%d)" \
    -v cmd="bench/capacity.sh $DAILY_TB $MIX" '
    BEGIN { n = split(mix, parts, ","); for (i = 1; i <= n; i++) { split(parts[i], kv, "="); share[kv[1]] = kv[2] / 100; total += kv[2] } }
    { kind[NR] = $1; files[$1] = $2; bytes[$1] = $3; secs[$1] = $4; per_gb[$1] = $5; pages[$1] = $6
      b = $7; for (j = 8; j <= NF; j++) b = b " " $j; basis[$1] = b }
    END {
        if (total != 100) { printf "bench/capacity.sh: the mix adds up to %d%%, not 100%%\n", total > "/dev/stderr"; exit 2 }
        daily = tb * 1e12
        printf "Measured %s on %s (`MF_BIN_DIR=build/bin %s`): each input kind run through its lane in one-shot mode (`mf-worker-<lane> process`, outputs and meta.json included), CPU = user + sys; video with `video_threads=1`, OCR with `OMP_THREAD_LIMIT=1`.\n\n", date, machine, cmd
        printf "| input | files | pages | MB measured | CPU s | CPU s per GB planned | basis |\n|---|---|---|---|---|---|---|\n"
        for (i = 1; i <= NR; i++) { k = kind[i]; printf "| %s | %d | %s | %.2f | %.1f | %.1f | %s |\n", k, files[k], pages[k], bytes[k] / 1e6, secs[k], per_gb[k], basis[k] }
        printf "\n%s TB/day, mix by bytes %s:\n\n| input | TB/day | CPU core-seconds/day | cores busy around the clock |\n|---|---|---|---|\n", tb, mix
        for (i = 1; i <= NR; i++) {
            k = kind[i]; b = daily * share[k]; cs = b / 1e9 * per_gb[k]; sum += cs
            printf "| %s | %.2f | %.0f | %.1f |\n", k, b / 1e12, cs, cs / 86400
        }
        printf "| **total** | %.2f | %.0f | **%.1f** |\n\n", tb, sum, sum / 86400
        hc = daily / 1e9 * hash_per_gb
        printf "Plan for **%d cores** (%.1f at %d%% average load, rounded up) for the workers, plus the dispatcher: hashing costs %.1f CPU s per GB (`sha256sum` on the same inputs), %.2f cores for %s TB/day; Redis takes about 50 us of its CPU per upload (bench/RESULTS.md, Dispatcher). Costs are per byte of *these* inputs (documents: per page, at the page size assumed above): a camera JPEG, a phone video or a real scan compresses differently, so measure a sample of your own files. The video lane dominates any mix with video in it; a hardware encoder (`video_hw_encoder`) moves that cost off the CPU.\n", int(sum / 86400 / busy) + 1, sum / 86400 / busy, busy * 100, hash_per_gb, hc / 86400, tb
    }' "$W/costs" >"$W/section"
cat "$W/section"
results_section "Capacity" "$W/section"
