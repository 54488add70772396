#!/usr/bin/env bash
# The status page in a real browser: headless Chromium (Debian package chromium) driven over
# the DevTools protocol by gw_browser.js (node, no npm package) against mf-gateway on a real
# fleet (redis-server, mf-dispatcher, mf-worker-image started directly).
#   - the page lists the lanes, shows a running job's progress bar at the job's progress and a
#     failed broken JPEG with its record's error text;
#   - its upload form posts a photo that ends done, and the page then shows its thumbnail;
#   - screenshots and the DOM read are kept in $MF_TEST_TMP/artefacts/t_gateway_page/.
# The running job is written the way the worker registry agreed with the workers (ZSET
# <prefix>workers, HASH <prefix>worker:<host>:<pid>, record fields progress and eta_s): a
# video lane job at 40 %, so that no timing decides whether the page catches one running.
# Skipped (77) only when chromium or node is missing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gw_lib.sh"
if ! command -v chromium >/dev/null || ! command -v node >/dev/null; then
    echo "SKIP: chromium or node missing (deploy/install-deps.sh installs chromium)"
    exit 77
fi
ART=${MF_TEST_ARTEFACTS:-$MF_TEST_TMP/artefacts}/t_gateway_page
rm -rf "$ART"
mkdir -p "$ART"
mf_setup
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"
gw_start gateway

# a failure with a real error text
mk_jpeg "$T/good.jpg" 640 480
head -c 3000 "$T/good.jpg" >"$T/broken.jpg"
mf_drop photos/broken.jpg "$T/broken.jpg"
mf_expect_status photos/broken.jpg failed 60
broken=$(id_of photos/broken.jpg)
error=$(field "$broken" error)
[ -n "$error" ] || mf_fail "the broken JPEG has no error"

# a running job: record processing at 40 %, a live worker of the video lane running it
run=01JRUNNING0000000000000000
now_ms=$(($(date +%s%N) / 1000000))
rraw HSET "mf:file:$run" id "$run" path clips/long.mp4 type video status processing \
    profile default progress 40 eta_s 30 outputs '[]' meta '{}' >/dev/null
rraw ZADD mf:workers "$now_ms" testhost:4242 >/dev/null
rraw HSET mf:worker:testhost:4242 host testhost pid 4242 lane video version test \
    job "$run" since "$((now_ms - 12000))" started_at "$now_ms" beat_at "$now_ms" >/dev/null
rraw EXPIRE mf:worker:testhost:4242 600 >/dev/null

mkdir -p "$T/up"
mk_jpeg "$T/up/holiday.jpg" 800 600
node "$(dirname "$0")/gw_browser.js" "$GW/" "$ART" "$T/up/holiday.jpg" ||
    mf_fail "the browser run failed (artefacts in $ART)"

dom=$ART/dom.json
mf_assert_eq "$(jq -r '.lanes | join(" ")' "$dom")" "$MF_LANES" "lanes on the page"
mf_assert_eq "$(jq -r '.running[0].path' "$dom")" clips/long.mp4 "running job on the page"
mf_assert_eq "$(jq -r '.running[0].value' "$dom")" 40 "its progress bar"
mf_assert_eq "$(jq -r '.running[0].determinate' "$dom")" true "progress bar with a value"
mf_assert_eq "$(jq -r --arg id "$broken" '.failures[] | select(.id == $id) | .error' "$dom")" \
    "$error" "failure's error text on the page"
mf_expect_status holiday.jpg done 60
mf_assert_eq "$(jq -r .thumb.id "$ART/upload.json")" "$(id_of holiday.jpg)" "thumbnail shown for the upload"
for png in page.png page-after-upload.png; do
    [ "$(head -c 8 "$ART/$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        mf_fail "$png is not a PNG"
done
rm -rf "$ART"/chromium-profile-*
mf_log "screenshots: $ART"
mf_pass
