#!/usr/bin/env bash
# `mfctl pause image`: workers of the lane take no new job (the running one finishes),
# uploads are still recorded and queued; `mfctl status` says the lane is paused;
# `mfctl resume image` and the backlog is done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mfctl_lib.sh"

mfctl_up fleet --workers image=1
mf_wait 15 "an image worker" workers_are image 1
mk_jpeg "$T/first.jpg"
mf_drop first.jpg "$T/first.jpg"
mf_expect_status first.jpg done 30
"$MFCTL" pause image | grep -q "image paused" || mf_fail "pause said nothing"
sleep 2 # the worker's next beat (1 s) learns it
for i in 1 2 3; do
    mk_jpeg "$T/p$i.jpg"
    mf_drop "p$i.jpg" "$T/p$i.jpg"
done
mf_expect_status p3.jpg queued 30
sleep 3
for i in 1 2 3; do
    mf_assert_eq "$(field "$(id_of "p$i.jpg")" status)" queued "p$i.jpg while the lane is paused"
done
mf_assert_eq "$(rraw XLEN mf:q:image)" 3 "jobs waiting in mf:q:image"
mf_assert_eq "$(live_workers image)" 1 "the paused worker is still alive"
"$MFCTL" resume image | grep -q "image resumed" || mf_fail "resume said nothing"
for i in 1 2 3; do mf_expect_status "p$i.jpg" done 30; done
mf_assert_eq "$(rraw SISMEMBER mf:paused image)" 0 "image still in mf:paused"
mfctl_stop fleet
mf_pass
