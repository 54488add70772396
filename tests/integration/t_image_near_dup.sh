# meta.near_duplicates through the fleet: a photo, then a half-size copy and a JPEG Q=40
# re-encode of it, then an unrelated photo, uploaded one after the other (each done before
# the next, so "earlier" is fixed). The copies list the original with a small distance; the
# original (first) and the unrelated photo list nothing; meta.json carries the same list; the
# band index holds 4 entries per image; image_near_dup_bits=0 turns it off.
source "$(dirname "$0")/lib.sh"
mf_setup

# A "photo": smooth random shapes (blurred noise, stretched to 0..255), a seed per image.
mk_photo() {
    vips gaussnoise "$T/noise.v" 800 600 --seed "$2" >/dev/null
    vips gaussblur "$T/noise.v" "$T/blur.v" 24 >/dev/null
    vips scale "$T/blur.v" "$1" >/dev/null
}
mk_photo "$T/orig.jpg" 11
vips resize "$T/orig.jpg" "$T/half.jpg" 0.5
vips copy "$T/orig.jpg" "$T/q40.jpg[Q=40]"
mk_photo "$T/other.jpg" 29

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"
for name in orig half q40 other; do
    mf_drop "$name.jpg" "$T/$name.jpg"
    mf_expect_status "$name.jpg" done
done
orig=$(id_of orig.jpg)
half=$(id_of half.jpg)
q40=$(id_of q40.jpg)
other=$(id_of other.jpg)
for id in "$orig" "$half" "$q40" "$other"; do
    mf_log "$id $(field "$id" path): $(field "$id" meta | jq -c '{phash, near_duplicates}')"
done
near() { field "$1" meta | jq -c '[.near_duplicates[].id]'; }

mf_assert_eq "$(near "$orig")" '[]' "near_duplicates of the first photo"
mf_assert_eq "$(near "$half")" "[\"$orig\"]" "near_duplicates of the half-size copy"
# The Q=40 copy may also list the half-size one (a copy of the same photo): the original must
# be there, nothing else than copies of it.
field "$q40" meta | jq -e --arg o "$orig" --arg h "$half" \
    '(.near_duplicates | map(.id) | index($o)) != null and
     all(.near_duplicates[]; .id == $o or .id == $h)' >/dev/null ||
    mf_fail "near_duplicates of the Q=40 copy: $(field "$q40" meta | jq -c .near_duplicates)"
mf_assert_eq "$(near "$other")" '[]' "near_duplicates of the unrelated photo"
d=$(field "$half" meta | jq '.near_duplicates[0].distance')
[ "$d" -ge 0 ] && [ "$d" -le 6 ] || mf_fail "distance of the half-size copy is $d"

# meta.json mirrors the record; the index is 4 band buckets per image, one counter.
mf_assert_eq "$(jq -c .meta.near_duplicates "$MF_OUTBOX/$half/meta.json")" \
    "$(field "$half" meta | jq -c .near_duplicates)" "meta.json near_duplicates"
p=$(field "$orig" meta | jq -r .phash)
mf_assert_eq "$(rraw HGET "mf:phash:2:${p:8:4}" "$orig")" "$p:1" "band 2 entry of the original"
n=0
for b in 0 1 2 3; do
    for id in "$orig" "$half" "$q40" "$other"; do
        h=$(field "$id" meta | jq -r .phash)
        [ "$(rraw HEXISTS "mf:phash:$b:${h:$((4 * b)):4}" "$id")" = 1 ] && n=$((n + 1))
    done
done
mf_assert_eq "$n" 16 "band entries"
mf_assert_eq "$(rraw GET mf:phash:seq)" 4 "images indexed"

# image_near_dup_bits=0: no list, nothing indexed.
kill -TERM "$MF_PID_worker"
wait "$MF_PID_worker" || true
MF_IMAGE_NEAR_DUP_BITS=0 mf_start worker0 "$MF_BIN_DIR/mf-worker-image"
vips copy "$T/orig.jpg" "$T/q60.jpg[Q=60]"
mf_drop q60.jpg "$T/q60.jpg"
mf_expect_status q60.jpg done
q60=$(id_of q60.jpg)
mf_assert_eq "$(field "$q60" meta | jq -c 'has("near_duplicates")')" false \
    "near_duplicates when off"
mf_assert_eq "$(rraw GET mf:phash:seq)" 4 "images indexed when off"
mf_pass
