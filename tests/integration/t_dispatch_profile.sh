#!/usr/bin/env bash
# A top-level folder named like a profile selects it; any other folder, a deeper folder of
# that name, or a file directly in the inbox gets the default profile.
source "$(dirname "$0")/lib.sh"
mf_setup
export MF_PROFILES="ocr"
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mkdir -p "$MF_INBOX/ocr/deep" "$MF_INBOX/captions" "$MF_INBOX/misc/ocr"
mk_png "$MF_INBOX/ocr/x.png"
mk_png "$MF_INBOX/ocr/deep/y.png"
mk_png "$MF_INBOX/captions/z.png"
mk_png "$MF_INBOX/misc/ocr/w.png"
mk_png "$MF_INBOX/ocr.png"
for p in ocr/x.png ocr/deep/y.png captions/z.png misc/ocr/w.png ocr.png; do
    mf_expect_status "$p" queued 10
done
mf_assert_eq "$(field "$(id_of ocr/x.png)" profile)" ocr "profile of ocr/x.png"
mf_assert_eq "$(field "$(id_of ocr/deep/y.png)" profile)" ocr "profile of ocr/deep/y.png"
# captions is a profile by default, but MF_PROFILES replaced the list
mf_assert_eq "$(field "$(id_of captions/z.png)" profile)" default "profile of captions/z.png"
mf_assert_eq "$(field "$(id_of misc/ocr/w.png)" profile)" default "profile of misc/ocr/w.png"
mf_assert_eq "$(field "$(id_of ocr.png)" profile)" default "profile of ocr.png"
mf_pass
