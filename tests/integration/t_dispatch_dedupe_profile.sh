#!/usr/bin/env bash
# Content is deduplicated per profile: the same bytes in inbox/ocr/ after the default profile
# are new work (to be read), while the same bytes in the same profile are a duplicate. Keys
# written before the split (mf:sha:<sha256> for any profile) are still honoured. (Issue 15,
# item 1.)
source "$(dirname "$0")/lib.sh"
mf_setup
export MF_PROFILES="ocr"
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mk_png "$T/page.png"
sha=$(sha256sum "$T/page.png" | cut -d' ' -f1)

mf_drop page.png "$T/page.png"
mf_expect_status page.png queued 10
first=$(id_of page.png)
mf_drop ocr/page.png "$T/page.png"
mf_expect_status ocr/page.png queued 10
ocr=$(id_of ocr/page.png)
mf_assert_eq "$(field "$ocr" profile)" ocr "profile of ocr/page.png"
mf_assert_eq "$(field "$ocr" type)" doc "lane of ocr/page.png (profile_routes ocr:image=doc)"
mf_assert_eq "$(field "$ocr" duplicate_of)" "" "ocr/page.png is not a duplicate"

# the same bytes again, in each profile: duplicates of the original of that profile
mf_drop again.png "$T/page.png"
mf_drop ocr/again.png "$T/page.png"
mf_expect_status again.png duplicate 10
mf_expect_status ocr/again.png duplicate 10
mf_assert_eq "$(field "$(id_of again.png)" duplicate_of)" "$first" "duplicate_of of again.png"
mf_assert_eq "$(field "$(id_of ocr/again.png)" duplicate_of)" "$ocr" "duplicate_of of ocr/again.png"
mf_assert_eq "$(rraw GET "mf:sha:$sha")" "$first" "mf:sha:<sha256> (default profile)"
mf_assert_eq "$(rraw GET "mf:sha:ocr:$sha")" "$ocr" "mf:sha:ocr:<sha256>"
mf_assert_eq "$(rraw XLEN mf:q:image)" 1 "image jobs"
mf_assert_eq "$(rraw XLEN mf:q:doc)" 1 "doc jobs"

# a record from before the split: mf:sha:<sha256> pointing at an ocr upload
mk_png "$T/old.png"
old_sha=$(sha256sum "$T/old.png" | cut -d' ' -f1)
rraw HSET mf:file:01OLDRECORD0000000000000000 id 01OLDRECORD0000000000000000 path ocr/old.png \
    profile ocr status done sha256 "$old_sha" type doc >/dev/null
rraw SET "mf:sha:$old_sha" 01OLDRECORD0000000000000000 >/dev/null
mf_drop ocr/old-again.png "$T/old.png"
mf_expect_status ocr/old-again.png duplicate 10
mf_assert_eq "$(field "$(id_of ocr/old-again.png)" duplicate_of)" 01OLDRECORD0000000000000000 \
    "an ocr upload finds the original under the old key"
mf_drop old-default.png "$T/old.png"
mf_expect_status old-default.png queued 10
mf_assert_eq "$(rraw GET "mf:sha:$old_sha")" "$(id_of old-default.png)" \
    "the default profile takes the old key over"
mf_pass
