# Office files are not PDFs: a DOCX and an ODT dropped into the inbox are recorded by the real
# mf-dispatcher as `unsupported`, type other, with an error naming their MIME type (the one
# queues/lua/enqueue.lua writes: "no lane handles <mime>"); nothing is queued for the doc lane
# and a running mf-worker-doc never sees them. The files are real: zip archives with the parts
# Word and LibreOffice need, made with python3's zipfile.
source "$(dirname "$0")/lib.sh"
for b in mf-dispatcher mf-worker-doc; do
    [ -x "$MF_BIN_DIR/$b" ] || mf_fail "no $MF_BIN_DIR/$b"
done
command -v python3 >/dev/null || mf_fail "python3 not installed"
mf_setup

python3 - "$T/letter.docx" "$T/minutes.odt" <<'PY' || mf_fail "office fixtures"
import sys, zipfile

docx, odt = sys.argv[1], sys.argv[2]
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml",
               '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
               '<Default Extension="xml" ContentType="application/xml"/>'
               '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
               '</Types>')
    z.writestr("_rels/.rels",
               '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
               '</Relationships>')
    z.writestr("word/document.xml",
               '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>The quick brown fox.</w:t>'
               '</w:r></w:p></w:body></w:document>')
with zipfile.ZipFile(odt, "w") as z:
    # ODF: the first entry is an uncompressed `mimetype`, which is what identifies the file
    z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text",
               compress_type=zipfile.ZIP_STORED)
    z.writestr("META-INF/manifest.xml",
               '<?xml version="1.0" encoding="UTF-8"?>'
               '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
               '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
               '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
               '</manifest:manifest>', compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("content.xml",
               '<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:text><text:p>The quick brown fox.</text:p></office:text>'
               '</office:body></office:document-content>', compress_type=zipfile.ZIP_DEFLATED)
PY

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-doc"
sleep 0.5
mf_drop docs/letter.docx "$T/letter.docx"
mf_drop docs/minutes.odt "$T/minutes.odt"

# expect_unsupported PATH MIME
expect_unsupported() {
    local id
    mf_expect_status "$1" unsupported 30
    id=$(id_of "$1")
    mf_assert_eq "$(field "$id" type)" other "$1: type"
    mf_assert_eq "$(field "$id" mime)" "$2" "$1: mime"
    mf_assert_eq "$(field "$id" error)" "no lane handles $2" "$1: error"
    mf_assert_eq "$(field "$id" outputs)" "[]" "$1: outputs"
    [ ! -e "$MF_OUTBOX/$id" ] || mf_fail "$1: outputs were written for an unsupported file"
}
expect_unsupported docs/letter.docx \
    application/vnd.openxmlformats-officedocument.wordprocessingml.document
expect_unsupported docs/minutes.odt application/vnd.oasis.opendocument.text

# nothing reached the doc lane: its stream holds no job (or does not exist)
mf_assert_eq "$(rraw XLEN mf:q:doc)" 0 "jobs queued for the doc lane"
mf_pass
