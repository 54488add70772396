#!/usr/bin/env bash
# The dispatcher's classification fast path (dispatcher/classify.c, mf_classify_fast) must
# give exactly libmagic's answer. This checks it on real files: every PNG and JPEG under
# /usr/share and /usr/lib, PNGs and JPEGs made here by vips, ffmpeg and ImageMagick with
# varied options (bit depths, alpha, palette, interlace, progressive, EXIF/ICC kept or
# stripped, an animated PNG, an MJPEG frame), and non-image files (binaries, PDFs, videos,
# text) that the fast path must leave to libmagic; for each, the whole head and truncations
# of it (mf-bench-magic). Exit 1 on any difference. Writes the "Classification fast path"
# section of bench/RESULTS.md. Usage: bench/magic.sh
source "$(dirname "$0")/lib.sh"
[ -x "$BIN/mf-bench-magic" ] || { echo "bench/magic.sh: build mf-bench-magic first" >&2; exit 2; }
G=$W/gen
mkdir -p "$G"
vips gaussnoise "$G/n.v" 640 480 --seed 3
vips cast "$G/n.v" "$G/u8.v" uchar
for q in 50 90; do
    vips jpegsave "$G/u8.v" "$G/q$q.jpg" --Q "$q"
    vips jpegsave "$G/u8.v" "$G/q$q-prog.jpg" --Q "$q" --interlace
    vips jpegsave "$G/u8.v" "$G/q$q-opt.jpg" --Q "$q" --optimize-coding --strip
done
vips colourspace "$G/u8.v" "$G/rgb.v" srgb
vips jpegsave "$G/rgb.v" "$G/rgb.jpg" --Q 80 --subsample-mode on
vips pngsave "$G/u8.v" "$G/grey.png"
vips pngsave "$G/rgb.v" "$G/rgb-i.png" --interlace --compression 9
vips pngsave "$G/rgb.v" "$G/rgb-pal.png" --palette
vips cast "$G/rgb.v" "$G/rgb16.v" ushort
vips pngsave "$G/rgb16.v" "$G/rgb16.png"
vips bandjoin_const "$G/rgb.v" "$G/rgba.v" 255
vips pngsave "$G/rgba.v" "$G/rgba.png"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=5:duration=1 "$G/ff-%02d.png"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=5:duration=1 "$G/ff-%02d.jpg"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=64x64:rate=5:duration=1 -plays 0 \
    -f apng "$G/anim.png"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=5:duration=1 -c:v mjpeg \
    "$G/mjpeg.avi"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=5:duration=1 "$G/clip.mp4"
if convert -version 2>/dev/null | grep -q ImageMagick; then
    convert -size 200x100 gradient:red-blue "$G/im.jpg"
    convert -size 200x100 gradient:red-blue -quality 20 -interlace Plane "$G/im-prog.jpg"
    convert -size 200x100 gradient:red-blue -define png:color-type=6 "$G/im.png"
    convert "$G/im.jpg" -set comment "a comment" "$G/im-comment.jpg"
fi
[ -x "$BIN/mf-doc-mkfixture" ] && "$BIN/mf-doc-mkfixture" scan "$G/scan.pdf" >/dev/null
printf '\x89PNG\r\n\x1a\n%s' "$(head -c 100 /dev/zero | tr '\0' x)" >"$G/sig-only.png"
rm -f "$G"/*.v
set +o pipefail # head ends the finds early
{
    find /usr/share /usr/lib -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.jpeg' \) \
        2>/dev/null
    find "$G" -type f
    find /usr/bin -maxdepth 1 -type f | head -200
    find /usr/share/doc -type f | head -300
    find "$ROOT/tests/fixtures" -type f
} >"$W/list"
set -o pipefail
"$BIN/mf-bench-magic" <"$W/list" | tee "$W/result"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine); $(file --version | head -1)"
        echo "- command: \`bench/magic.sh\` (system PNG/JPEG files, vips/ffmpeg-made variants, truncated heads, non-image files)"
        echo "- result: $(tail -1 "$W/result")"
        echo "- target: 0 differences between mf_classify_fast() and libmagic wherever the fast path answers"
    } >"$W/section.md"
    results_section "Classification fast path" "$W/section.md"
fi
grep -q ' differences=0$' "$W/result"
