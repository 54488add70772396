#!/usr/bin/env bash
# The record of every output and what made it (issue: notifications / output metadata): a
# photo and a scanned page through the fleet; meta.outputs lists each output with its path,
# MIME type, size and SHA-256 (equal to the file's), and what the lane knows (width and height
# of a thumbnail, pages of searchable.pdf); meta.provenance names the worker version, the
# libraries as loaded (libvips as `vips --version` says) and the settings that shaped the
# outputs, whose hash changes with them. meta.json carries the same.
source "$(dirname "$0")/lib.sh"
mf_setup
mk_jpeg "$T/photo.jpg" 900 600
"$MF_BIN_DIR/mf-doc-mkfixture" scan "$T/scan.pdf" >/dev/null || mf_fail "fixture"
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start image "$MF_BIN_DIR/mf-worker-image"
mf_start doc "$MF_BIN_DIR/mf-worker-doc"
mf_drop photo.jpg "$T/photo.jpg"
mf_drop ocr/scan.pdf "$T/scan.pdf"
mf_expect_status photo.jpg done 60
mf_expect_status ocr/scan.pdf done 60

id=$(id_of photo.jpg)
meta=$(field "$id" meta)
mf_assert_eq "$(jq -c '[.outputs[].path]' <<<"$meta")" "$(field "$id" outputs)" "meta.outputs paths = outputs"
for i in 0 1; do
    p=$(jq -r ".outputs[$i].path" <<<"$meta")
    f="$MF_OUTBOX/$p"
    mf_assert_eq "$(jq -r ".outputs[$i].size" <<<"$meta")" "$(stat -c %s "$f")" "size of $p"
    mf_assert_eq "$(jq -r ".outputs[$i].sha256" <<<"$meta")" "$(sha256sum "$f" | cut -d' ' -f1)" "sha256 of $p"
    mf_assert_eq "$(jq -r ".outputs[$i].mime" <<<"$meta")" image/webp "mime of $p"
    mf_assert_eq "$(jq -r ".outputs[$i].width" <<<"$meta")" "$(vipsheader -f width "$f")" "width of $p"
    mf_assert_eq "$(jq -r ".outputs[$i].height" <<<"$meta")" "$(vipsheader -f height "$f")" "height of $p"
done
mf_assert_eq "$(jq -r .provenance.worker_version <<<"$meta")" "$("$MF_BIN_DIR/mfctl" --version | cut -d' ' -f2)" "worker version"
vips --version | grep -qF "$(jq -r .provenance.libraries.libvips <<<"$meta")" || mf_fail "libvips version: $(jq -c .provenance <<<"$meta")"
mf_assert_eq "$(jq -r .provenance.settings.values.image_quality <<<"$meta")" 80 "settings: image_quality"
jq -e '.provenance.settings.sha256 | test("^[0-9a-f]{64}$")' <<<"$meta" >/dev/null || mf_fail "settings hash"
mf_assert_eq "$(jq -c .meta.outputs "$MF_OUTBOX/$id/meta.json")" "$(jq -c .outputs <<<"$meta")" "meta.json carries meta.outputs"

doc=$(id_of ocr/scan.pdf)
dmeta=$(field "$doc" meta)
mf_assert_eq "$(jq -r '.outputs[] | select(.path | endswith("searchable.pdf")) | .pages' <<<"$dmeta")" 1 "pages of searchable.pdf"
mf_assert_eq "$(jq -r '.outputs[] | select(.path | endswith("searchable.pdf")) | .mime' <<<"$dmeta")" application/pdf "mime of searchable.pdf"
jq -e '.provenance.libraries | .poppler and .tesseract and .tesseract_model == "eng"' <<<"$dmeta" >/dev/null ||
    mf_fail "doc provenance: $(jq -c .provenance <<<"$dmeta")"

# another quality: another settings hash (what `mfctl reprocess` would change)
h1=$(jq -r .provenance.settings.sha256 <<<"$meta")
MF_IMAGE_QUALITY=60 "$MF_BIN_DIR/mf-worker-image" process "$T/photo.jpg" --out "$T/o60" >"$T/o60.json" || mf_fail "one-shot"
h2=$(jq -r .meta.provenance.settings.sha256 "$T/o60.json")
[ "$h1" != "$h2" ] || mf_fail "the settings hash did not change with image_quality"
mf_pass
