#!/usr/bin/env bash
# `mfctl reload` during a backlog of 60 photos: every process is replaced one at a time, the
# new one first, so the lane never has zero workers; every photo is done exactly once
# (attempts 1), and records name workers of both generations. SIGHUP does the same.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mfctl_lib.sh"

mfctl_up fleet --workers image=2
mf_wait 15 "two image workers" workers_are image 2
old=$(pgrep -P "$MFCTL_PID" -f mf-worker-image | sort | tr '\n' ' ')
"$MFCTL" pause image >/dev/null # build the backlog first
sleep 1.5
for i in $(seq 1 60); do mk_jpeg "$T/src.jpg" 1600 1200 && cp "$T/src.jpg" "$MF_INBOX/p$i.jpg"; done
mf_expect_status p60.jpg queued 30
"$MFCTL" resume image >/dev/null
mf_wait 10 "the first photo processing" bash -c "[ \$(redis-cli -s '$S' XLEN mf:q:image) -lt 60 ]"
"$MFCTL" reload | grep -q "reloading" || mf_fail "reload said nothing"
# sample the live registry until the backlog is gone: image workers never drop to zero
min=99
while [ "$(rraw XLEN mf:q:image)" != 0 ]; do
    n=$(live_workers image)
    [ "$n" -lt "$min" ] && min=$n
    sleep 0.1
done
mf_log "fewest live image workers during the reload: $min"
[ "$min" -ge 1 ] || mf_fail "the image lane dropped to $min workers during the reload"
for i in $(seq 1 60); do
    mf_expect_status "p$i.jpg" done 60
    mf_assert_eq "$(field "$(id_of "p$i.jpg")" attempts)" 1 "attempts of p$i.jpg"
done
new=$(pgrep -P "$MFCTL_PID" -f mf-worker-image | sort | tr '\n' ' ')
mf_log "image workers before: $old after: $new"
for p in $old; do
    case " $new " in *" $p "*) mf_fail "worker $p of the old generation still runs" ;; esac
done
gens=0
workers=$(for i in $(seq 1 60); do field "$(id_of "p$i.jpg")" worker; done | sort -u | sed 's/.*://')
for p in $old; do echo "$workers" | grep -qx "$p" && gens=$((gens | 1)); done
for p in $new; do echo "$workers" | grep -qx "$p" && gens=$((gens | 2)); done
mf_assert_eq "$gens" 3 "records done by workers of both generations (workers: $(echo $workers))"
grep -q 'reload done' "$T/logs/fleet.log" || mf_wait 30 "the reload to finish" grep -q 'reload done' "$T/logs/fleet.log"
# SIGHUP reloads too
before=$(pgrep -P "$MFCTL_PID" -f mf-dispatcher)
kill -HUP "$MFCTL_PID"
mf_wait 30 "a new dispatcher after SIGHUP" bash -c "p=\$(pgrep -P $MFCTL_PID -f mf-dispatcher); [ -n \"\$p\" ] && [ \"\$p\" != $before ]"
mk_jpeg "$T/after.jpg"
mf_drop after.jpg "$T/after.jpg"
mf_expect_status after.jpg done 30
mfctl_stop fleet
mf_pass
