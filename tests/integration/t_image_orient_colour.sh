# Image lane pixels (issue 3, item 2): every EXIF orientation gives an upright thumbnail,
# CMYK (with or without a profile) and Display P3 come out as sRGB, 16-bit PNG keeps its
# tone, and alpha stays transparent. Fixtures from mf-image-mkfixture and vips.
source "$(dirname "$0")/lib.sh"
trap mf_cleanup EXIT
W=$MF_BIN_DIR/mf-worker-image
MK=$MF_BIN_DIR/mf-image-mkfixture
export MF_LOG_LEVEL=warn

# colour X Y FILE: "r g b" or "r g b a" at (X, Y)
colour() { vips getpoint "$3" "$1" "$2" | awk '{$1=$1; print}'; }
# is COLOUR NAME: r, g, b within 100 of the named pure colour (JPEG shifts saturated blue).
is() {
    local want
    case $2 in
    red) want="255 0 0" ;; green) want="0 255 0" ;; blue) want="0 0 255" ;;
    white) want="255 255 255" ;;
    esac
    awk -v got="$1" -v want="$want" 'BEGIN { split(got, g); split(want, w);
        for (i = 1; i <= 3; i++) if (g[i] - w[i] > 100 || w[i] - g[i] > 100) exit 1 }'
}

# 1. Orientations 1..8: stored transformed, displayed red | green over blue | white.
for n in 1 2 3 4 5 6 7 8; do
    "$MK" orient "$n" "$T/o$n.jpg" || mf_fail "mkfixture orient $n"
    mf_assert_eq "$(vipsheader -f orientation "$T/o$n.jpg")" "$n" "fixture $n orientation"
    "$W" process "$T/o$n.jpg" --out "$T/out$n" >"$T/rec$n.json" || mf_fail "orientation $n: exit"
    mf_assert_eq "$(jq -c '[.meta.width, .meta.height, .meta.orientation]' "$T/rec$n.json")" \
        "[400,300,$n]" "orientation $n: meta"
    t=$T/out$n/thumb-256.webp
    mf_assert_eq "$(vipsheader -f width "$t")x$(vipsheader -f height "$t")" 256x192 \
        "orientation $n: thumbnail size"
    for q in "64 48 red" "192 48 green" "64 144 blue" "192 144 white"; do
        set -- $q
        c=$(colour "$1" "$2" "$t")
        is "$c" "$3" || mf_fail "orientation $n: ($1,$2) is '$c', not $3"
    done
done

# 2. Colour-managed files: sRGB red (220 20 20) stored as CMYK (libvips' CMYK profile
# embedded, and the same pixels with no profile at all) and as Display P3 (stored values
# 201 49 36): every thumbnail shows the sRGB red again, not the stored numbers.
near() { # GOT WANT TOLERANCE
    awk -v got="$1" -v want="$2" -v tol="$3" 'BEGIN { split(got, g); split(want, w);
        for (i = 1; i <= 3; i++) if (g[i] - w[i] > tol || w[i] - g[i] > tol) exit 1 }'
}
vips black "$T/b.v" 200 100 --bands 3
vips linear "$T/b.v" "$T/lin.v" "1 1 1" "220 20 20" --uchar
vips copy "$T/lin.v" "$T/red.v" --interpretation srgb
vips icc_transform "$T/red.v" "$T/cmyk.jpg[Q=95]" cmyk --input-profile srgb
vips copy "$T/cmyk.jpg" "$T/cmyk-bare.jpg[strip,Q=95]"
vips icc_transform "$T/red.v" "$T/p3.jpg[Q=95]" p3 --input-profile srgb
mf_assert_eq "$(vipsheader -f bands "$T/cmyk-bare.jpg")" 4 "fixture bands"
vipsheader -a "$T/cmyk-bare.jpg" | grep -q icc-profile-data && mf_fail "fixture has a profile"
near "$(colour 100 50 "$T/p3.jpg")" "201 49 36" 6 || mf_fail "P3 fixture is $(colour 100 50 "$T/p3.jpg")"
for f in cmyk cmyk-bare p3; do
    "$W" process "$T/$f.jpg" --out "$T/$f" >"$T/$f.json" || mf_fail "$f: exit"
    mf_assert_eq "$(vipsheader -f bands "$T/$f/thumb-256.webp")" 3 "$f: thumbnail bands"
    tol=12
    [ "$f" = p3 ] || tol=40 # the CMYK round trip leaves sRGB's gamut a little
    c=$(colour 100 50 "$T/$f/thumb-256.webp")
    near "$c" "220 20 20" "$tol" || mf_fail "$f: thumbnail colour is '$c', not sRGB 220 20 20"
done
mf_assert_eq "$(jq -c '[.meta.bands, .meta.icc]' "$T/cmyk.json")" '[4,"Chemical proof"]' \
    "CMYK meta"
mf_assert_eq "$(jq -c '[.meta.bands, .meta.icc]' "$T/cmyk-bare.json")" '[4,null]' "bare CMYK meta"
mf_assert_eq "$(jq -r .meta.icc "$T/p3.json")" sP3C "P3 profile name"

# 3. 16-bit PNG, 3/4 grey: the thumbnail is 3/4 grey (191), not clipped to white.
"$MK" rgb16 "$T/g16.png"
vipsheader "$T/g16.png" | grep -q " ushort, 3 bands" || mf_fail "fixture is not 16-bit RGB"
"$W" process "$T/g16.png" --out "$T/g16" >/dev/null || mf_fail "16-bit: exit"
mf_assert_eq "$(colour 10 10 "$T/g16/thumb-256.webp")" "191 191 191" "16-bit grey"

# 4. WebP with alpha: left half opaque red, right half transparent, in and out.
"$MK" alpha "$T/a.webp"
"$W" process "$T/a.webp" --out "$T/a" >"$T/a.json" || mf_fail "alpha: exit"
mf_assert_eq "$(jq -c '[.meta.has_alpha, .meta.bands]' "$T/a.json")" '[true,4]' "alpha meta"
mf_assert_eq "$(vipsheader -f bands "$T/a/thumb-256.webp")" 4 "alpha kept"
c=$(colour 20 20 "$T/a/thumb-256.webp")
is "$c" red && [ "${c##* }" -eq 255 ] || mf_fail "opaque half is '$c'"
mf_assert_eq "$(colour 180 20 "$T/a/thumb-256.webp" | awk '{print $4}')" 0 "transparent half"
mf_pass
