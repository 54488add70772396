#!/usr/bin/env bash
# A model reads its companions only from its own folder (workers/model/modelio.c): a glTF
# buffer URI ../../../etc/passwd, an OBJ mtllib ../../secret.mtl and a symlinked .mtl load
# nothing from outside (no byte of the target in any output); a .bin that has not arrived yet
# is a retryable failure, and the model is done once it is there. Hostile files (a PLY or OFF
# declaring 4 billion elements, a GLB cut in half, STLs, ASCII PLYs and a 3MF cut short, a
# glTF node chain 20,000 deep) fail at the first attempt with a reason and the worker lives.
# Only the importers of the lane's formats read: glTF 1.0 (assimp has an importer for it, not
# enabled) fails naming the glTF 2.0 importer, a DirectX .x file named .obj never reaches the
# lane. Textures over the pixel limit (from the PNG header), not PNG/JPEG or outside the folder
# are left out with a warning, and so are the faces of a vertex at NaN.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/model_lib.sh"
mf_setup
export MF_MAX_ATTEMPTS=20 MF_RETRY_BACKOFF_MS=300

# outside the inbox: a material with a name and colour no output may carry
printf 'newmtl M\nKd 0.9 0.1 0.1\nmap_Kd SECRETTEX.png\n' >"$T/secret.mtl"
mk_box_obj "$T/y.obj" y
mkdir -p "$T/in/a/b" "$T/in/c" "$T/in/g" "$T/in/late" "$T/in/h" "$T/in/v1"
{ echo "mtllib ../../../secret.mtl"; echo "usemtl M"; cat "$T/y.obj"; } >"$T/in/a/b/up.obj"
ln -s "$T/secret.mtl" "$T/in/c/link.mtl"
{ echo "mtllib link.mtl"; echo "usemtl M"; cat "$T/y.obj"; } >"$T/in/c/sym.obj"
assimp export "$T/y.obj" "$T/box.gltf" -fgltf2 >/dev/null 2>&1 || mf_fail "assimp export gltf2"
# the same glTF with its buffer pointing at /etc/passwd
jq '.buffers[0].uri = "../../../../../../../../etc/passwd"' "$T/box.gltf" >"$T/in/g/passwd.gltf"
# a glTF whose .bin comes later
cp "$T/box.gltf" "$T/in/late/box.gltf"
# hostile: 4e9 vertices declared, a few bytes given; a GLB cut in half
printf 'ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n' >"$T/in/h/huge.ply"
head -c 64 /dev/urandom >>"$T/in/h/huge.ply"
assimp export "$T/y.obj" "$T/box.glb" -fglb2 >/dev/null 2>&1 || mf_fail "assimp export glb2"
head -c "$(($(stat -c %s "$T/box.glb") / 2))" "$T/box.glb" >"$T/in/h/cut.glb"
printf 'OFF\n4000000000 4000000000 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n' >"$T/in/h/bomb.off"
# STLs cut short: assimp imported the facets of an ASCII one up to the cut as the whole model;
# a binary one was unsupported (a binary STL is known by its size) or, reaching assimp, "Failed
# to determine STL storage representation for mf-upload.stl". The whole ASCII file with CRLF
# and blank lines after endsolid is fine.
assimp export "$T/y.obj" "$T/box.stl" -fstl >/dev/null 2>&1 || mf_fail "assimp export stl"
assimp export "$T/y.obj" "$T/boxb.stl" -fstlb >/dev/null 2>&1 || mf_fail "assimp export stlb"
head -c "$(($(stat -c %s "$T/box.stl") * 2 / 3))" "$T/box.stl" >"$T/in/h/cut-ascii.stl"
head -c 400 "$T/boxb.stl" >"$T/in/h/cut-bin.stl"
{ sed 's/$/\r/' "$T/box.stl"; printf '\r\n  \r\n'; } >"$T/in/h/crlf.stl"
# ASCII PLYs cut short: at 90 % assimp aborted the executor (an assertion in its
# triangulation); cut within the last line it made the last face of a vertex the cut made up
assimp export "$T/y.obj" "$T/box.ply" -fply >/dev/null 2>&1 || mf_fail "assimp export ply"
head -c "$(($(stat -c %s "$T/box.ply") * 9 / 10))" "$T/box.ply" >"$T/in/h/cut.ply"
head -c "$(($(stat -c %s "$T/box.ply") - 2))" "$T/box.ply" >"$T/in/h/cutline.ply"
# an OBJ declares nothing a cut could break: one whose last line does not end is done, with a
# warning that it may be cut short
printf '%s' "$(cat "$T/y.obj")" >"$T/in/h/noend.obj"
# a 3MF (a zip) cut short: assimp said "Failed to open file mf-upload.3mf."
assimp export "$T/y.obj" "$T/box.3mf" -f3mf >/dev/null 2>&1 || mf_fail "assimp export 3mf"
head -c "$(($(stat -c %s "$T/box.3mf") * 3 / 4))" "$T/box.3mf" >"$T/in/h/cut.3mf"
# other formats assimp reads: glTF 1.0 (JSON + .bin, and binary), DirectX .x named .obj
assimp export "$T/y.obj" "$T/in/v1/box.gltf" -fgltf >/dev/null 2>&1 || mf_fail "assimp export gltf"
assimp export "$T/y.obj" "$T/in/v1/boxb.glb" -fglb >/dev/null 2>&1 || mf_fail "assimp export glb"
assimp export "$T/y.obj" "$T/x.x" -fx >/dev/null 2>&1 || mf_fail "assimp export x"
cp "$T/x.x" "$T/in/h/directx.obj"
# textures the GLB must not carry: 10^10 pixels declared in a 45-byte PNG, a PNG that is
# text, one outside the model's folder
mkdir -p "$T/in/t"
python3 - "$T/in/t/huge.png" <<'PY'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
    ">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b""))
PY
echo "not an image" >"$T/in/t/bad.png"
printf 'newmtl A\nmap_Kd huge.png\nnewmtl B\nmap_Kd bad.png\nnewmtl C\nmap_Kd ../../secret.png\n' >"$T/in/t/box.mtl"
{
    printf 'mtllib box.mtl\nvt 0 0\nvt 1 0\nvt 0 1\n'
    grep '^v ' "$T/y.obj"
    grep '^f ' "$T/y.obj" | awk '{m = NR <= 4 ? "A" : NR <= 8 ? "B" : "C"
        if (m != last) { print "usemtl " m; last = m }
        printf "f %s/1 %s/2 %s/3\n", $2, $3, $4}'
} >"$T/in/t/box.obj"
# a vertex at NaN and a face using it (glTF forbids non-finite values)
{ cat "$T/y.obj"; printf 'v nan 1 1\nf 1 2 9\n'; } >"$T/in/t/nan.obj"
# a GLB whose embedded PNG declares 10^10 pixels in its header
python3 - "$T/in/t/huge.glb" <<'PY'
import json, struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
pos = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 3, 0) + struct.pack("<6f", 0, 0, 1, 0, 0, 1)
png += b"\0" * (-len(png) % 4)
binary = pos + png
doc = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
       "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "material": 0}]}],
       "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
       "textures": [{"source": 0}], "images": [{"bufferView": 2, "mimeType": "image/png"}],
       "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                      "min": [0, 0, 0], "max": [1, 3, 0]},
                     {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"}],
       "bufferViews": [{"buffer": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 24},
                       {"buffer": 0, "byteOffset": 60, "byteLength": len(png)}],
       "buffers": [{"byteLength": len(binary)}]}
js = json.dumps(doc).encode()
js += b" " * (-len(js) % 4)
body = struct.pack("<I4s", len(js), b"JSON") + js + struct.pack("<I4s", len(binary), b"BIN\0") + binary
open(sys.argv[1], "wb").write(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
PY
# a node chain 20,000 deep (assimp's importer overflows its stack on it)
python3 - "$T/in/h/deep.gltf" <<'PY'
import base64, json, struct, sys
uri = "data:application/octet-stream;base64," + base64.b64encode(
    struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)).decode()
n = 20000
doc = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
       "nodes": [{"children": [i + 1]} for i in range(n - 1)] + [{"mesh": 0}],
       "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
       "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                      "min": [0, 0, 0], "max": [1, 1, 0]}],
       "bufferViews": [{"buffer": 0, "byteLength": 36}],
       "buffers": [{"byteLength": 36, "uri": uri}]}
open(sys.argv[1], "w").write(json.dumps(doc))
PY

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-model"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
cp -a "$T/in/." "$MF_INBOX/"

no_secret() { # ID: no output of the record holds the material from outside (its texture
    # name, its red diffuse colour)
    local f
    for f in "$MF_OUTBOX/$1"/*; do
        ! grep -q SECRETTEX "$f" || mf_fail "$f holds the material from outside the inbox"
    done
    python3 - "$MF_OUTBOX/$1/model.glb" <<'PY' || mf_fail "model.glb of $1 has the outside colour"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 12)[0]
doc = json.loads(b[20:20 + n])
for m in doc.get("materials", []):
    c = m.get("pbrMetallicRoughness", {}).get("baseColorFactor", [1, 1, 1, 1])
    assert abs(c[0] - 0.9) > 0.01, m
PY
}
# the OBJ escapes load without their material (outside the folder, a link)
for rel in a/b/up.obj c/sym.obj; do
    mf_expect_status "$rel" done 120
    no_secret "$(id_of "$rel")"
    mf_assert_eq "$(field "$(id_of "$rel")" meta | jq .triangles)" 12 "triangles of $rel"
done
# the glTF whose buffer is /etc/passwd fails, saying the reference was refused
mf_expect_status g/passwd.gltf failed 120
err=$(field "$(id_of g/passwd.gltf)" error)
grep -q "outside the model's folder" <<<"$err" || mf_fail "passwd.gltf error: $err"
[ -z "$(ls -A "$MF_OUTBOX/$(id_of g/passwd.gltf)" 2>/dev/null)" ] || mf_fail "passwd.gltf has outputs"
# the late .bin: retried (attempts go up, never failed), done once the .bin is there
mf_wait 60 "late/box.gltf retried" bash -c '[ "$(redis-cli -s "$0" --raw HGET "mf:file:$1" attempts)" -ge 2 ]' \
    "$T/redis.sock" "$(id_of late/box.gltf)"
[ "$(field "$(id_of late/box.gltf)" status)" != failed ] || mf_fail "late/box.gltf failed"
grep -q "referenced file" <<<"$(grep "$(id_of late/box.gltf)" "$T/logs/worker.log")" ||
    mf_fail "the retry does not name the missing file"
cp "$T/box.bin" "$MF_INBOX/late/box.bin"
mf_expect_status late/box.gltf done 120
# hostile files fail with a reason; the worker lives on
for spec in "h/huge.ply:PLY header declares 12000000001 values, more than the file's" \
    "h/cut.glb:GLB header says" "h/bomb.off:OFF header declares 4000000000 vertices" \
    "h/deep.gltf:glTF node hierarchy deeper than 256 levels" \
    "v1/box.gltf:(glTF2 Importer): GLTF: Unsupported glTF version: 1.0" \
    "v1/boxb.glb:GLB version 1: only glTF 2.0 binaries are read" \
    "h/cut-ascii.stl:ASCII STL ends without \"endsolid\"" \
    "h/cut-bin.stl:binary STL header declares 12 triangles (684 bytes), the file has 400 bytes (cut short)" \
    "h/cut.ply:a line each, the file has" "h/cutline.ply:ASCII PLY's last line does not end" \
    "h/cut.3mf:3MF package (a zip) has no central directory at its end"; do
    rel=${spec%%:*} want=${spec#*:}
    mf_expect_status "$rel" failed 120
    err=$(field "$(id_of "$rel")" error)
    grep -qF "$want" <<<"$err" || mf_fail "$rel: error '$err' does not say '$want'"
    mf_assert_eq "$(field "$(id_of "$rel")" attempts)" 1 "attempts of $rel (not retried)"
done
# the textures are left out with a warning each, the model done without them
mf_expect_status t/box.obj done 120
mf_assert_eq "$(field "$(id_of t/box.obj)" meta | jq -r '.warnings | join(";")')" \
    "texture huge.png left out: 100000x100000 pixels, over the limit of 64000000;texture bad.png left out: not a PNG or JPEG;texture ../../secret.png left out: not found in the model's folder, or refused" \
    "texture warnings of t/box.obj"
gltf_validate "$MF_OUTBOX/$(id_of t/box.obj)/model.glb"
mf_expect_status t/huge.glb done 120
mf_assert_eq "$(field "$(id_of t/huge.glb)" meta | jq -r '.warnings | join(";")')" \
    "embedded texture *0 left out: 100000x100000 pixels, over the limit of 64000000" \
    "warnings of t/huge.glb"
gltf_validate "$MF_OUTBOX/$(id_of t/huge.glb)/model.glb"
mf_expect_status t/nan.obj done 120
mf_assert_eq "$(field "$(id_of t/nan.obj)" meta | jq -c '[.nonfinite, .warnings]')" \
    '[1,["1 faces with a non-finite vertex left out"]]' "meta of t/nan.obj"
gltf_validate "$MF_OUTBOX/$(id_of t/nan.obj)/model.glb" "$MF_OUTBOX/$(id_of t/nan.obj)/lod-1.glb"
mf_assert_eq "$(assimp_faces "$MF_OUTBOX/$(id_of t/nan.obj)/model.glb")" 12 "faces of t/nan.obj's GLB"
mf_expect_status h/noend.obj done 120
mf_assert_eq "$(field "$(id_of h/noend.obj)" meta | jq -r '.warnings | join(";")')" \
    "the OBJ file's last line does not end: it may be cut short, and the model is what was read up to there" \
    "warnings of h/noend.obj"
mf_expect_status h/crlf.stl done 120
mf_assert_eq "$(field "$(id_of h/crlf.stl)" meta | jq -r .triangles)" 12 "triangles of h/crlf.stl"
mf_expect_status h/directx.obj unsupported 60
kill -0 "$MF_PID_worker" || mf_fail "the worker died"
mf_pass
