# Image lane, many frames or pages (issue 3, item 3): an animated GIF or WebP and a multi-page
# TIFF give a thumbnail of the first frame/page only, the count in meta.pages (from the
# header), and image_max_frames refuses a file with more before decoding it.
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
    animated=true
    [ "$ext" = tif ] && animated=false
    mf_assert_eq "$(jq -c '[.meta.pages, .meta.animated, .meta.width, .meta.height]' \
        "$T/$ext.json")" "[5,$animated,120,100]" "$ext meta"
    t=$T/$ext/thumb-256.webp
    mf_assert_eq "$(vipsheader -f width "$t")x$(vipsheader -f height "$t")" 120x100 \
        "$ext: one frame, not the whole strip"
    mf_assert_eq "$(vipsheader -f n-pages "$t" 2>/dev/null || echo 1)" 1 "$ext: still thumbnail"
    c=$(vips getpoint "$t" 60 50 | awk '{print ($1 > 200 && $3 < 60) ? "red" : $0}')
    mf_assert_eq "$c" red "$ext: thumbnail of the first frame"
done

# Over image_max_frames: failed from the header, naming the limit.
rc=0
MF_IMAGE_MAX_FRAMES=3 "$W" process "$T/anim.gif" --out "$T/lim" >"$T/lim.json" || rc=$?
mf_assert_eq "$rc" 1 "frame limit exit"
mf_assert_eq "$(jq -r .error "$T/lim.json")" "image has 5 frames, over the 3 frame limit" \
    "frame limit error"
ls "$T/lim"/*.webp >/dev/null 2>&1 && mf_fail "outputs written over the frame limit"
mf_pass
