#!/usr/bin/env bash
# mf-gateway on a real fleet (redis-server, mf-dispatcher, mf-worker-image, all started
# directly), checked with curl the way an operator, a load balancer, Prometheus, a CDN or a
# script would:
#   - /healthz 200 always; /readyz 503 with a reason while Redis is SIGSTOPped, 200 after
#     SIGCONT;
#   - /metrics passes `promtool check metrics` and counts a failed broken JPEG within 2 s of
#     its record turning failed;
#   - PUT /api/upload/<rel>?profile=ocr gives a record with profile ocr (inbox/ocr/<rel>);
#     POST multipart ends done; bad path, unknown profile 400; over max_input_bytes 413
#     (Content-Length and chunked); no temporary file left in the inbox;
#   - an output read whole (same bytes as on disk), by Range (206), as 304 with its ETag;
#   - traversal refused: .., %2e%2e, %00, a file not listed, a listed symlink;
#   - /api/files/<id> is what `mfctl show --json` prints; /api/events resumes after
#     Last-Event-ID;
#   - with http_token: 401 without it, 200 with it, /healthz open; no token and a
#     non-loopback address: the gateway refuses to start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gw_lib.sh"
for b in mf-dispatcher mf-worker-image mf-gateway mfctl; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "$b not built"
done
command -v promtool >/dev/null || mf_fail "promtool missing (Debian package prometheus)"
mf_setup
export MF_PROFILES="ocr captions"

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"
gw_start gateway MF_MAX_INPUT_BYTES=2000000

# ---- health and readiness ------------------------------------------------------------
mf_assert_eq "$(http_code "$GW/healthz")" 200 "/healthz"
mf_assert_eq "$(http_code "$GW/readyz")" 200 "/readyz with Redis up"
kill -STOP "$MF_REDIS_PID"
ready_503() { [ "$(http_code "$GW/readyz" --max-time 10)" = 503 ]; }
mf_wait 30 "/readyz 503 while redis is stopped" ready_503
body=$(curl -s --max-time 10 "$GW/readyz" || true)
[[ $body == "not ready: "* ]] || { kill -CONT "$MF_REDIS_PID"; mf_fail "503 without a reason: '$body'"; }
mf_assert_eq "$(http_code "$GW/healthz" --max-time 5)" 200 "/healthz while redis is stopped"
kill -CONT "$MF_REDIS_PID"
ready_200() { [ "$(http_code "$GW/readyz" --max-time 10)" = 200 ]; }
mf_wait 30 "/readyz 200 after SIGCONT" ready_200

# ---- metrics: a broken JPEG counted ----------------------------------------------------
curl -sf "$GW/metrics" >"$T/m0.txt"
promtool check metrics <"$T/m0.txt" || mf_fail "promtool check metrics failed on the first scrape"
mk_jpeg "$T/good.jpg" 640 480
head -c 3000 "$T/good.jpg" >"$T/broken.jpg"
mf_drop photos/good.jpg "$T/good.jpg"
mf_drop photos/broken.jpg "$T/broken.jpg"
mf_expect_status photos/broken.jpg failed 60
failed_counted() {
    curl -sf "$GW/metrics" >"$T/m1.txt" &&
        grep -qx 'mediafleet_jobs_finished_total{lane="image",outcome="failed"} 1' "$T/m1.txt" &&
        grep -qx 'mediafleet_records{lane="image",status="failed"} 1' "$T/m1.txt"
}
t0=$(date +%s%N)
until failed_counted; do
    [ $(($(date +%s%N) - t0)) -lt 2000000000 ] || mf_fail "failed JPEG not counted within 2 s: $(grep image "$T/m1.txt")"
    sleep 0.05
done
promtool check metrics <"$T/m1.txt" || mf_fail "promtool check metrics failed"
mf_expect_status photos/good.jpg done 60
curl -sf "$GW/metrics" >"$T/m2.txt"
grep -qx 'mediafleet_jobs_finished_total{lane="image",outcome="done"} 1' "$T/m2.txt" ||
    mf_fail "done job not counted: $(grep finished "$T/m2.txt")"
grep -qx 'mediafleet_job_duration_seconds_count{lane="image"} 2' "$T/m2.txt" ||
    mf_fail "duration histogram: $(grep duration_seconds_count "$T/m2.txt")"
grep -q '^mediafleet_dispatcher_files_recorded_total 2$' "$T/m2.txt" ||
    mf_fail "dispatcher counter: $(grep dispatcher "$T/m2.txt")"
grep -q '^mediafleet_build_info{version=.*microhttpd=.*} 1$' "$T/m2.txt" || mf_fail "no build info"

# /api/status: the lanes and the totals from the same counters
curl -sf "$GW/api/status" >"$T/status.json"
mf_assert_eq "$(jq -r '[.lanes[].lane] | join(" ")' "$T/status.json")" "$MF_LANES" "lanes"
mf_assert_eq "$(jq -r '.totals.failed' "$T/status.json")" 1 "totals.failed"
mf_assert_eq "$(jq -r '.totals.done' "$T/status.json")" 1 "totals.done"
mf_assert_eq "$(jq -r '.lanes[0].dlq' "$T/status.json")" 1 "image dlq"

# ---- records ------------------------------------------------------------------------
good=$(id_of photos/good.jpg)
curl -sf "$GW/api/files/$good" | jq -S . >"$T/rec_http.json"
"$MF_BIN_DIR/mfctl" show --json "$good" | jq -S . >"$T/rec_cli.json"
cmp -s "$T/rec_http.json" "$T/rec_cli.json" || mf_fail "/api/files/<id> differs from mfctl show --json"
mf_assert_eq "$(curl -sf "$GW/api/files?path=photos/broken.jpg" | jq -r .error)" \
    "$(field "$(id_of photos/broken.jpg)" error)" "error of the broken JPEG by path"
mf_assert_eq "$(http_code "$GW/api/files?path=nope.jpg")" 404 "unknown path"
mf_assert_eq "$(http_code "$GW/api/files/not-an-id")" 400 "bad id"

# ---- outputs --------------------------------------------------------------------------
out=$(field "$good" outputs | jq -r '.[0]')
[ -n "$out" ] && [ -f "$MF_OUTBOX/$out" ] || mf_fail "no output to read: '$out'"
curl -sf -D "$T/h_whole" -o "$T/whole.bin" "$GW/files/$out"
cmp "$T/whole.bin" "$MF_OUTBOX/$out" || mf_fail "whole output differs from the file"
grep -qi '^content-type: image/webp' "$T/h_whole" || mf_fail "content type: $(cat "$T/h_whole")"
grep -qi '^cache-control: public' "$T/h_whole" || mf_fail "no Cache-Control"
etag=$(grep -i '^etag:' "$T/h_whole" | cut -d' ' -f2 | tr -d '\r')
[ -n "$etag" ] || mf_fail "no ETag"
code=$(curl -s -D "$T/h_range" -o "$T/range.bin" -w '%{http_code}' -H 'Range: bytes=100-1123' "$GW/files/$out")
mf_assert_eq "$code" 206 "range request"
cmp "$T/range.bin" <(tail -c +101 "$MF_OUTBOX/$out" | head -c 1024) || mf_fail "range bytes differ"
grep -qi "^content-range: bytes 100-1123/$(stat -c %s "$MF_OUTBOX/$out")" "$T/h_range" ||
    mf_fail "content-range: $(cat "$T/h_range")"
mf_assert_eq "$(http_code "$GW/files/$out" -H "If-None-Match: $etag")" 304 "If-None-Match"
mf_assert_eq "$(http_code "$GW/files/$out" -H 'Range: bytes=99999999-')" 416 "range past the end"

# ---- traversal ------------------------------------------------------------------------
ln -s /etc/passwd "$MF_OUTBOX/$good/evil.webp"
rraw HSET "mf:file:$good" outputs "[\"$good/evil.webp\", \"$out\"]" >/dev/null
for u in "$good/../../../../etc/passwd" "$good/%2e%2e/%2e%2e/etc/passwd" "$good/%2E%2E%2Fmeta.json" \
    "..%2f..%2fetc/passwd" "$good/meta.json" "$good/evil.webp" "$out%00.txt" \
    "$good//thumb-256.webp" "$good/./thumb-256.webp"; do
    code=$(http_code "$GW/files/$u")
    case $code in 400 | 404) ;; *) mf_fail "/files/$u answered $code" ;; esac
done
curl -s --path-as-is "$GW/files/$good/evil.webp" | grep -q root && mf_fail "symlink followed"

# ---- uploads --------------------------------------------------------------------------
mk_png "$T/scan.png" 320 240
resp=$(curl -sf -D "$T/h_put" -T "$T/scan.png" "$GW/api/upload/letters/scan.png?profile=ocr")
mf_assert_eq "$(jq -r .path <<<"$resp")" ocr/letters/scan.png "stored path"
grep -qi '^location: /api/files?path=ocr%2Fletters%2Fscan.png' "$T/h_put" || mf_fail "Location: $(cat "$T/h_put")"
has_record() { curl -sf "$GW/api/files?path=ocr/letters/scan.png" >"$T/up.json"; }
mf_wait 30 "the uploaded file's record" has_record
mf_assert_eq "$(jq -r .profile "$T/up.json")" ocr "profile of the uploaded file"
cmp "$MF_INBOX/ocr/letters/scan.png" "$T/scan.png" || mf_fail "uploaded bytes differ"

mk_jpeg "$T/form.jpg" 400 300
code=$(curl -s -o "$T/post.json" -w '%{http_code}' -F profile=default -F "file=@$T/form.jpg" "$GW/api/upload")
mf_assert_eq "$code" 201 "multipart upload"
mf_expect_status form.jpg done 60

mf_assert_eq "$(http_code "$GW/api/upload/../x.jpg" -T "$T/form.jpg")" 400 "upload to .."
mf_assert_eq "$(http_code "$GW/api/upload/a/%2e%2e/%2e%2e/x.jpg" -T "$T/form.jpg")" 400 "upload to %2e%2e"
mf_assert_eq "$(http_code "$GW/api/upload/.hidden.jpg" -T "$T/form.jpg")" 400 "hidden name"
mf_assert_eq "$(http_code "$GW/api/upload/x.jpg?profile=nope" -T "$T/form.jpg")" 400 "unknown profile"
head -c 3000000 /dev/urandom >"$T/big.bin"
mf_assert_eq "$(http_code "$GW/api/upload/big.bin" -T "$T/big.bin")" 413 "over max_input_bytes"
mf_assert_eq "$(http_code "$GW/api/upload/big2.bin" -T - -H 'Transfer-Encoding: chunked' <"$T/big.bin")" \
    413 "chunked over max_input_bytes"
left=$(find "$MF_INBOX" -name '.mf-upload-*' -o -name 'big*' | wc -l)
mf_assert_eq "$left" 0 "temporary or refused files left in the inbox"

# ---- events ---------------------------------------------------------------------------
mapfile -t ids < <(rraw XRANGE mf:events - + | grep -E '^[0-9]+-[0-9]+$')
[ "${#ids[@]}" -ge 4 ] || mf_fail "too few events: ${#ids[@]}"
curl -s -N --max-time 3 -H "Last-Event-ID: ${ids[1]}" "$GW/api/events" >"$T/sse.txt" || true
mf_assert_eq "$(grep -m1 '^id: ' "$T/sse.txt")" "id: ${ids[2]}" "first event after Last-Event-ID"
mf_assert_eq "$(grep -c '^id: ' "$T/sse.txt")" "$((${#ids[@]} - 2))" "events after Last-Event-ID"
grep -q '^data: {.*"status":"failed"' "$T/sse.txt" || mf_fail "no failed event in the stream"

# ---- access -----------------------------------------------------------------------------
GW_OPEN=$GW
gw_start gateway_tok MF_HTTP_TOKEN=s3cret
mf_assert_eq "$(http_code "$GW/api/status")" 401 "no token"
mf_assert_eq "$(http_code "$GW/api/status" -H 'Authorization: Bearer wrong')" 401 "wrong token"
mf_assert_eq "$(http_code "$GW/metrics" -H 'Authorization: Bearer s3cret')" 200 "right token"
mf_assert_eq "$(http_code "$GW/api/upload/t.jpg" -T "$T/form.jpg")" 401 "upload without token"
mf_assert_eq "$(http_code "$GW/healthz")" 200 "healthz without token"
mf_assert_eq "$(http_code "$GW/readyz")" 200 "readyz without token"
[ ! -e "$MF_INBOX/t.jpg" ] || mf_fail "an unauthorised upload was stored"
rc=0
MF_HTTP_LISTEN=0.0.0.0:$(gw_free_port) "$MF_BIN_DIR/mf-gateway" >"$T/open.log" 2>&1 || rc=$?
mf_assert_eq "$rc" 2 "exit status of a gateway beyond loopback without a token"
grep -q 'http_token is empty' "$T/open.log" || mf_fail "refusal message: $(cat "$T/open.log")"
grep -q 'method=GET path="/api/status" status=200 bytes=[0-9]* ms=[0-9]*' "$T/logs/gateway.log" ||
    mf_fail "no per-request debug line"
mf_pass
