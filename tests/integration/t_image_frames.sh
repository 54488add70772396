# Image lane, many frames or pages (issue 3, item 3): an animated GIF or WebP gives animated
# WebP outputs (up to image_anim_frames frames; 1 = a still of the first), a multi-page TIFF
# its first page; the count is in meta.pages (from the header), and image_max_frames refuses a
# file with more before decoding it.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
MK=$MF_BIN_DIR/mf-image-mkfixture
export MF_LOG_LEVEL=warn

# Five 120x100 frames: the first red, the others blue.
for ext in gif webp tif; do
    f=$T/anim.$ext
    "$MK" frames 5 "$f" || mf_fail "mkfixture frames $ext"
    mf_assert_eq "$(vipsheader -f n-pages "$f")" 5 "$ext fixture pages"
    "$W" process "$f" --out "$T/$ext" >"$T/$ext.json" || mf_fail "$ext: exit $?"
    animated=true pages=5
    [ "$ext" = tif ] && animated=false pages=1
    mf_assert_eq "$(jq -c '[.meta.pages, .meta.animated, .meta.width, .meta.height]' \
        "$T/$ext.json")" "[5,$animated,120,100]" "$ext meta"
    # An animation stays animated (every frame sized alike); a multi-page TIFF gives its
    # first page.
    for t in "$T/$ext/thumb-256.webp" "$T/$ext/preview-1280.webp"; do
        mf_assert_eq "$(vipsheader -f width "$t")x$(vipsheader -f height "$t")" 120x100 \
            "$ext: frames sized one by one, not the whole strip"
        mf_assert_eq "$(vipsheader -f n-pages "$t" 2>/dev/null || echo 1)" "$pages" \
            "$ext: frames in $(basename "$t")"
    done
    t=$T/$ext/thumb-256.webp
    c=$(vips getpoint "$t" 60 50 | awk '{print ($1 > 200 && $3 < 60) ? "red" : $0}')
    mf_assert_eq "$c" red "$ext: thumbnail starts with the first frame"
    if [ "$animated" = true ]; then
        vips webpload "$t" "$T/$ext-f2.v" --page 2
        c=$(vips getpoint "$T/$ext-f2.v" 60 50 | awk '{print ($3 > 200 && $1 < 60) ? "blue" : $0}')
        mf_assert_eq "$c" blue "$ext: third frame of the animated thumbnail"
    fi
done

# image_anim_frames cuts the animation (the first frames), 1 gives a still of the first.
MF_IMAGE_ANIM_FRAMES=3 "$W" process "$T/anim.gif" --out "$T/cut" >/dev/null || mf_fail "cut: exit"
mf_assert_eq "$(vipsheader -f n-pages "$T/cut/thumb-256.webp")" 3 "image_anim_frames=3"
"$W" process "$T/anim.webp" --out "$T/still" --image_anim_frames=1 >/dev/null ||
    mf_fail "still: exit"
mf_assert_eq "$(vipsheader -f n-pages "$T/still/thumb-256.webp" 2>/dev/null || echo 1)" 1 \
    "image_anim_frames=1: a still"
c=$(vips getpoint "$T/still/thumb-256.webp" 60 50 | awk '{print ($1 > 200 && $3 < 60) ? "red" : $0}')
mf_assert_eq "$c" red "image_anim_frames=1: the first frame"

# Over image_max_frames: failed from the header, naming the limit.
rc=0
MF_IMAGE_MAX_FRAMES=3 "$W" process "$T/anim.gif" --out "$T/lim" >"$T/lim.json" || rc=$?
mf_assert_eq "$rc" 1 "frame limit exit"
mf_assert_eq "$(jq -r .error "$T/lim.json")" "image has 5 frames, over the 3 frame limit" \
    "frame limit error"
ls "$T/lim"/*.webp >/dev/null 2>&1 && mf_fail "outputs written over the frame limit"
mf_pass
