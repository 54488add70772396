#!/usr/bin/env bash
# End to end: an image-heavy mixed folder through the fleet (`mfctl up`: embedded Redis,
# dispatcher, default plan workers=auto: image=2,video=1,doc=1 on 2 CPUs) against the obvious shell pipeline doing the
# same work on the same files in the same run, median of RUNS.
#   folder: PHOTOS distinct JPEG photos (vips, one --seed each), 3 short 1080p H.264+AAC clips
#           (ffmpeg lavfi), 3 text PDFs and 3 scanned PDFs (mf-doc-mkfixture text|scan).
#   fleet:  `mfctl up` is started and ready first (a service waiting for uploads); the clock
#           starts when the files are renamed into the inbox (one `mv`) and stops when every
#           record is terminal (done failed duplicate unsupported), polled with redis-cli on
#           <state>/redis.sock.
#   shell:  find | xargs -P2 per file: file --mime-type, sha256sum, then by type
#           vipsthumbnail x2 (256 + 1280 WebP) | ffmpeg keyframes (320 px JPEGs), poster, contact
#           sheet (tile of keyframes) + ffmpeg 720p
#           transcode (libx264 veryfast crf 23, aac 128k, faststart) | pdftotext, and for a PDF
#           without text pdftoppm -r 300 -gray + tesseract per page, plus pdftoppm -png of the
#           first 3 pages; then redis-cli HSET of a record per file (a private redis-server).
# Both sides run OCR with OMP_THREAD_LIMIT=1 (the doc lane does so itself). Wall and CPU time
# (user+sys of every process of each side) are reported; the CPU ratio is the steadier one on
# a shared machine. Writes the "End to end" section of bench/RESULTS.md. The fleet does more
# than the shell (faces, perceptual hash and near-duplicates, EXIF metadata); MF_<SETTING>
# variables reach the fleet, so `MF_IMAGE_FACES=0 bench/e2e.sh` compares like for like and
# writes its own section, "End to end, fleet with MF_IMAGE_FACES=0".
# Usage: [MF_<SETTING>=...] bench/e2e.sh [PHOTOS] [RUNS]   (default 60 photos of 3000x2000, 3 runs)
source "$(dirname "$0")/lib.sh"
PHOTOS=${1:-60}
RUNS=${2:-3}
VSECS=${VSECS:-4}
# fleet settings given in the environment (bench_redis sets MF_REDIS_URL for the shell side)
FLEET_ENV=$(env | grep '^MF_' | grep -v -e '^MF_REDIS_URL=' -e '^MF_BIN_DIR=' -e '^MF_KEEP_BENCH=' | sort | paste -sd' ' || true)
for tool in vips vipsthumbnail ffmpeg file sha256sum pdftotext pdftoppm tesseract redis-cli; do
    command -v "$tool" >/dev/null || { echo "bench/e2e.sh: $tool not installed" >&2; exit 2; }
done
for b in mfctl mf-dispatcher mf-worker-image mf-worker-video mf-worker-doc mf-doc-mkfixture; do
    [ -x "$BIN/$b" ] || { echo "bench/e2e.sh: build $b first ($BIN)" >&2; exit 2; }
done

# ---- the folder ---------------------------------------------------------------------------
SRC=$W/src
mkdir -p "$SRC"
for i in $(seq "$PHOTOS"); do
    vips gaussnoise "$W/n.v" 3000 2000 --mean 128 --sigma 60 --seed "$i"
    vips gaussblur "$W/n.v" "$SRC/photo-$i.jpg[Q=90]" 2
done
rm -f "$W/n.v"
for i in 1 2 3; do
    ffmpeg -nostdin -v error -y -f lavfi \
        -i "testsrc2=size=1920x1080:rate=30:duration=$VSECS,hue=h=$((i * 40))" \
        -f lavfi -i "sine=frequency=$((300 + i * 100)):duration=$VSECS" -c:v libx264 \
        -preset veryfast -g 30 -pix_fmt yuv420p -c:a aac -b:a 128k "$SRC/clip-$i.mp4"
done
for i in 1 2 3; do
    "$BIN/mf-doc-mkfixture" text "$SRC/text-$i.pdf" $((2 + i)) >/dev/null
    "$BIN/mf-doc-mkfixture" scan "$SRC/scan-$i.pdf" 0 "$i" >/dev/null
done
NFILES=$(find "$SRC" -type f | wc -l)
BYTES=$(du -sb "$SRC" | cut -f1)

# ---- the fleet ----------------------------------------------------------------------------
run_fleet() {
    local d=$W/fleet pid t0 t1 c0 c1 n=0 sock
    rm -rf "$d" && mkdir -p "$d/inbox" "$d/outbox" "$d/state" "$d/stage"
    cp "$SRC"/* "$d/stage/"
    sock=$d/state/redis.sock
    (unset MF_REDIS_URL; export MF_INBOX=$d/inbox MF_OUTBOX=$d/outbox MF_STATE_DIR=$d/state MF_HTTP_LISTEN= \
        MF_LOG_LEVEL=warn; exec "$BIN/mfctl" up >"$d/fleet.log" 2>&1) &
    pid=$!
    BENCH_PIDS+=($pid) # so that an early exit stops the fleet too
    # ready: Redis answers and every worker of the plan (2+1+1) has named its connection
    for _ in $(seq 300); do
        [ "$(redis-cli -s "$sock" CLIENT LIST 2>/dev/null | grep -c 'name=worker-')" -ge 4 ] &&
            [ "$(redis-cli -s "$sock" EXISTS mf:q:image 2>/dev/null)" = 1 ] && break
        sleep 0.1
    done
    sleep 0.5
    sync
    c0=$(cpu_tree "$pid")
    cpu_by_name "$pid" >"$W/names0"
    t0=$(now)
    mv "$d"/stage/* "$d/inbox/"
    local end=$((SECONDS + 600))
    while [ "$n" -lt "$NFILES" ]; do
        [ $SECONDS -lt $end ] || { echo "e2e: the fleet finished $n of $NFILES files in 600 s" >&2; exit 1; }
        sleep 0.05
        n=$(redis-cli -s "$sock" EVAL "$TERMINAL_LUA" 1 mf:paths 2>/dev/null || echo 0)
    done
    t1=$(now)
    c1=$(cpu_tree "$pid")
    cpu_by_name "$pid" >"$W/names1"
    # CPU seconds by process during the run, largest first
    F_NAMES=$(join -a2 "$W/names0" "$W/names1" | awk 'NF == 2 {$3 = $2; $2 = 0}
        {printf "%s %.2f\n", $1, $3 - $2}' | sort -k2,2gr | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $1, $2}')
    F_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    F_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b - a}')
    F_DONE=$(for id in $(redis-cli -s "$sock" HVALS mf:paths); do
        redis-cli -s "$sock" HGET "mf:file:$id" status; done | grep -c '^done$' || true)
    F_OUT=$(find "$d/outbox" -type f ! -name meta.json ! -name '.*' | wc -l)
    for id in $(redis-cli -s "$sock" HVALS mf:paths); do
        redis-cli -s "$sock" --raw HMGET "mf:file:$id" status path error | paste -sd' ' |
            grep -v '^done ' >&2 || true
    done
    # per lane: jobs, summed job time and when its last job finished (from t0): the lane
    # that finishes last is the critical path
    for id in $(redis-cli -s "$sock" HVALS mf:paths); do
        redis-cli -s "$sock" --raw HMGET "mf:file:$id" type process_duration_ms finished_at |
            paste -sd' '
    done | python3 -c '
import sys, datetime
t0 = float(sys.argv[1]); lanes = {}
for l in sys.stdin:
    f = l.split()
    if len(f) < 3 or not f[1].isdigit():
        continue
    end = datetime.datetime.strptime(f[2], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() - t0
    n, ms, last = lanes.get(f[0], (0, 0, 0))
    lanes[f[0]] = (n + 1, ms + int(f[1]), max(last, end))
print("; ".join("%s %d jobs %.1fs of job time, last done at %.1fs" % (k, v[0], v[1] / 1000, v[2])
                for k, v in sorted(lanes.items())))' "$t0" >"$W/lanes.txt"
    F_LANES=$(cat "$W/lanes.txt")
    kill -TERM "$pid" && wait "$pid" || true
}

# ---- the shell pipeline -------------------------------------------------------------------
cat >"$W/one.sh" <<'SH'
#!/usr/bin/env bash
# one file of the shell pipeline: $1 = file, env IN OUT SOCK
f=$1
rel=${f#"$IN"/}
mime=$(file -b --mime-type "$f")
sha=$(sha256sum "$f" | cut -d' ' -f1)
o=$OUT/$(printf '%s' "$rel" | md5sum | cut -c1-26)
mkdir -p "$o"
case $mime in
image/*)
    type=image
    vipsthumbnail "$f" -s 256 -o "$o/thumb-256.webp[Q=80]"
    vipsthumbnail "$f" -s 1280 -o "$o/preview-1280.webp[Q=80]"
    ;;
video/*)
    type=video
    ffmpeg -nostdin -v error -y -skip_frame nokey -i "$f" -vf scale=320:-2 \
        -fps_mode passthrough -q:v 3 "$o/kf-%04d.jpg"
    # poster (a frame a tenth in) and a contact sheet of keyframes, as the video lane writes
    ffmpeg -nostdin -v error -y -ss 0.4 -i "$f" -frames:v 1 -vf scale=-2:720 -q:v 3 \
        "$o/poster.jpg"
    ffmpeg -nostdin -v error -y -skip_frame nokey -i "$f" -vf scale=320:-2,tile=5x2 \
        -fps_mode passthrough -frames:v 1 -q:v 3 "$o/contact-sheet.jpg"
    ffmpeg -nostdin -v error -y -i "$f" -vf scale=-2:720 -c:v libx264 -preset veryfast \
        -crf 23 -c:a aac -b:a 128k -movflags +faststart "$o/video-720p.mp4"
    ;;
application/pdf)
    type=doc
    pdftotext "$f" "$o/text.txt"
    if ! grep -q '[[:alnum:]]' "$o/text.txt"; then
        pdftoppm -r 300 -gray "$f" "$o/scan"
        for p in "$o"/scan*.pgm; do tesseract "$p" stdout 2>/dev/null; done >"$o/text.txt"
        rm -f "$o"/scan*.pgm
    fi
    pdftoppm -png -r 72 -l 3 "$f" "$o/page"
    ;;
*) type=other ;;
esac
redis-cli -s "$SOCK" HSET "mf:file:$(basename "$o")" path "$rel" mime "$mime" sha256 "$sha" \
    type "$type" status done outputs "$(ls "$o" | tr '\n' ' ')" >/dev/null
SH
chmod +x "$W/one.sh"
bench_redis
unset MF_REDIS_URL
run_shell() {
    local d=$W/shell
    rm -rf "$d" && mkdir -p "$d/in" "$d/out"
    cp "$SRC"/* "$d/in/"
    rc FLUSHALL >/dev/null
    sync
    /usr/bin/time -f '%e %U %S' -o "$W/time" env IN="$d/in" OUT="$d/out" SOCK="$W/redis.sock" \
        OMP_THREAD_LIMIT=1 bash -c 'find "$IN" -type f -print0 | xargs -0 -n1 -P2 '"$W/one.sh"
    S_WALL=$(awk '{printf "%.3f", $1}' "$W/time")
    S_CPU=$(awk '{printf "%.2f", $2 + $3}' "$W/time")
    S_DONE=$(rc KEYS 'mf:file:*' | wc -l)
    S_OUT=$(find "$d/out" -type f | wc -l)
}

fw=() fc=() sw=() sc=() rw=()
for i in $(seq "$RUNS"); do
    # alternate who goes first, so a neighbour's burst does not always hit the same side
    if [ $((i % 2)) = 1 ]; then run_shell; run_fleet; else run_fleet; run_shell; fi
    echo "run $i: fleet ${F_WALL}s cpu ${F_CPU}s done=$F_DONE outputs=$F_OUT;" \
        "shell ${S_WALL}s cpu ${S_CPU}s records=$S_DONE outputs=$S_OUT; fleet lanes: $F_LANES;" \
        "fleet cpu by process: $F_NAMES" >&2
    fw+=("$F_WALL") fc+=("$F_CPU") sw+=("$S_WALL") sc+=("$S_CPU")
    rw+=("$(ratio "$S_WALL" "$F_WALL")")
done
m_fw=$(median "${fw[@]}") m_fc=$(median "${fc[@]}")
m_sw=$(median "${sw[@]}") m_sc=$(median "${sc[@]}")
summary="files=$NFILES ($PHOTOS photos 3000x2000, 3 clips ${VSECS}s 1080p, 3 text + 3 scanned PDFs; $((BYTES / 1048576)) MiB); median of $RUNS: fleet ${m_fw}s (cpu ${m_fc}s, records done=$F_DONE/$NFILES, outputs=$F_OUT + meta.json), shell ${m_sw}s (cpu ${m_sc}s, records=$S_DONE, outputs=$S_OUT); wall ratio shell/fleet $(ratio "$m_sw" "$m_fw")x (per run ${rw[*]}, median $(median "${rw[@]}")x), cpu ratio $(ratio "$m_sc" "$m_fc")x; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`${FLEET_ENV:+$FLEET_ENV }bench/e2e.sh $PHOTOS $RUNS\` (VSECS=$VSECS)"
        echo "- result: $summary"
        echo "- runs (wall s): fleet ${fw[*]}; shell ${sw[*]}"
        echo "- fleet lanes, last run: $F_LANES"
        echo "- fleet CPU by process, last run (a stopped executor counts in its worker): $F_NAMES"
        echo "- target: >= 2x the shell pipeline (wall ratio)"
    } >"$W/section.md"
    results_section "End to end${FLEET_ENV:+, fleet with $FLEET_ENV}" "$W/section.md"
fi
