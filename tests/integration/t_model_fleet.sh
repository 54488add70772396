#!/usr/bin/env bash
# The model lane through the fleet (mf-dispatcher + mf-worker-model): every format made by
# assimp's own exporters ends done with thumb-512.png, model.glb, lod-1.glb and lod-2.glb;
# the triangle count in meta is assimp's (`assimp info`); the thumbnail is not blank and
# shows the model upright (a box 3 units tall along the file's up axis: +Y for OBJ, glTF,
# PLY, COLLADA, FBX; +Z for STL, 3DS, 3MF, OFF); every GLB is a glTF 2.0 binary with no error
# from the Khronos glTF validator, which assimp reads back with the same triangles. A 3MF's own
# preview becomes thumb-3mf.png. Hostile files fail with a reason and the worker lives on.
# With model_turntable=0 the turntable is one still image of its 16 views.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/model_lib.sh"
mf_setup

mk_box_obj "$T/y.obj" y
mk_box_obj "$T/z.obj" z
for spec in y:obj:obj y:ply:ply y:plyb:ply y:gltf2:gltf y:glb2:glb y:collada:dae y:fbxa:fbx \
    z:stl:stl z:stlb:stl z:3ds:3ds z:3mf:3mf y:fbx:fbx; do
    IFS=: read -r axis fmt ext <<<"$spec"
    mkdir -p "$T/m/$fmt"
    assimp export "$T/$axis.obj" "$T/m/$fmt/box.$ext" "-f$fmt" >/dev/null 2>&1 ||
        mf_fail "assimp export -f$fmt failed"
done
mkdir -p "$T/m/off" "$T/m/objsrc" "$T/m/normals" "$T/m/3mft" "$T/m/3mfbad" "$T/m/zae"
mk_zae "$T/m/collada/box.dae" "$T/m/zae/box.zae"
# an OBJ with its material's texture next to it: embedded in the GLBs
mkdir -p "$T/m/tex"
vips black "$T/wood.v" 16 16 --bands 3
vips linear "$T/wood.v" "$T/m/tex/wood.png" 1 200 --uchar
printf 'newmtl W\nKd 0.8 0.6 0.4\nmap_Kd wood.png\n' >"$T/m/tex/box.mtl"
{
    printf 'mtllib box.mtl\nusemtl W\nvt 0 0\nvt 1 0\nvt 0 1\n'
    grep '^v ' "$T/y.obj"
    awk '/^f /{printf "f %s/1 %s/2 %s/3\n", $2, $3, $4}' "$T/y.obj"
} >"$T/m/tex/box.obj"
# 3MF packages with a slicer's preview (assimp 5.2's importer crashes on those by itself):
# a PNG one becomes thumb-3mf.png, one that is no image a warning
cp "$T/m/3mf/box.3mf" "$T/m/3mft/box.3mf"
cp "$T/m/3mf/box.3mf" "$T/m/3mfbad/box.3mf"
vips black "$T/preview.png" 64 48 --bands 3
echo "not an image" >"$T/preview.txt"
add_3mf_thumbnail "$T/m/3mft/box.3mf" "$T/preview.png"
add_3mf_thumbnail "$T/m/3mfbad/box.3mf" "$T/preview.txt"
mk_sphere_off "$T/m/off/sphere.off" 16
cp "$T/y.obj" "$T/m/objsrc/box.obj"
# the box with normals glTF forbids (zero, not unit, NaN): repaired, so the GLBs validate
{
    grep -v '^f ' "$T/y.obj"
    printf 'vn 0 0 0\nvn 0 0 2\nvn nan 0 1\n'
    awk '/^f /{printf "f %s//1 %s//2 %s//3\n", $2, $3, $4}' "$T/y.obj"
} >"$T/m/normals/box.obj"

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-model"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
cp -r "$T/m/." "$MF_INBOX/"

check_model() { # REL: done, outputs, meta = assimp, thumbnail upright, GLBs valid
    local rel=$1 id d tris w h trim
    mf_expect_status "$rel" done 120
    id=$(id_of "$rel")
    d=$MF_OUTBOX/$id
    mf_assert_eq "$(field "$id" outputs | jq -r 'map(sub(".*/"; "")) | join(" ")')" \
        "thumb-512.png model.glb lod-1.glb lod-2.glb turntable.webp" "outputs of $rel"
    tris=$(field "$id" meta | jq -r .triangles)
    mf_assert_eq "$tris" "$(assimp_faces "$MF_INBOX/$rel")" "triangles of $rel (assimp info)"
    mf_assert_eq "$(vipsheader -f width "$d/thumb-512.png")x$(vipsheader -f height "$d/thumb-512.png")" \
        512x512 "thumbnail size of $rel"
    # not blank: the model covers part of the frame, and it stands up (taller than wide)
    trim=$(vips find_trim "$d/thumb-512.png" | tr '\n' ' ')
    read -r _ _ w h <<<"$trim"
    [ "$w" -gt 60 ] && [ "$h" -gt 60 ] || mf_fail "thumbnail of $rel is blank (${w}x$h drawn)"
    [ "$h" -gt $((w * 13 / 10)) ] || mf_fail "thumbnail of $rel not upright (${w}x$h drawn)"
    # shaded, not a black silhouette
    [ "$(vips min "$d/thumb-512.png" | cut -d. -f1)" -gt 30 ] || mf_fail "thumbnail of $rel is black"
    # the turntable: an animated WebP of 16 frames of 256 px
    mf_assert_eq "$(vipsheader -f n-pages "$d/turntable.webp")" 16 "turntable frames of $rel"
    mf_assert_eq "$(vipsheader -f width "$d/turntable.webp")" 256 "turntable width of $rel"
    for g in model.glb lod-1.glb lod-2.glb; do
        python3 - "$d/$g" <<'PY' || mf_fail "$rel: $g is not a glTF 2.0 binary"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
magic, version, length = struct.unpack_from("<4sII", b)
assert magic == b"glTF" and version == 2 and length == len(b)
n, kind = struct.unpack_from("<I4s", b, 12)
assert kind == b"JSON"
doc = json.loads(b[20:20 + n])
assert doc["asset"]["version"] == "2.0" and doc["meshes"]
PY
    done
    gltf_validate "$d/model.glb" "$d/lod-1.glb" "$d/lod-2.glb"
    mf_assert_eq "$(assimp_faces "$d/model.glb")" "$tris" "triangles of $rel's model.glb"
    mf_assert_eq "$(field "$id" meta | jq -r '.lods | map(.triangles <= '"$tris"') | all')" \
        true "LODs of $rel have at most the model's triangles"
}
for rel in objsrc/box.obj normals/box.obj tex/box.obj ply/box.ply plyb/box.ply gltf2/box.gltf glb2/box.glb \
    collada/box.dae zae/box.zae fbxa/box.fbx stl/box.stl stlb/box.stl 3ds/box.3ds 3mf/box.3mf \
    off/sphere.off; do
    check_model "$rel"
done
# the box as OBJ: its bounding box and normals as assimp reads them
m=$(field "$(id_of objsrc/box.obj)" meta)
mf_assert_eq "$(jq -c '[.bbox.min, .bbox.max, .format, .meshes, .vertices]' <<<"$m")" \
    '[[0,0,0],[1,3,1],"obj",1,8]' "meta of box.obj"
mf_assert_eq "$(jq .normals_repaired <<<"$m")" 0 "normals repaired in box.obj"
[ "$(field "$(id_of normals/box.obj)" meta | jq .normals_repaired)" -gt 0 ] ||
    mf_fail "no normal of normals/box.obj was repaired"
# which importer read it, and where the up axis came from
mf_assert_eq "$(jq -r .importer <<<"$m")" "Wavefront Object Importer" "importer of box.obj"
mf_assert_eq "$(field "$(id_of gltf2/box.gltf)" meta | jq -r .importer)" "glTF2 Importer" \
    "importer of box.gltf"
mf_assert_eq "$(field "$(id_of fbxa/box.fbx)" meta | jq -r '[.up_axis, .up_axis_from] | join(" ")')" \
    "+y file" "up axis of box.fbx"
mf_assert_eq "$(field "$(id_of stl/box.stl)" meta | jq -r '[.up_axis, .up_axis_from] | join(" ")')" \
    "+z format" "up axis of box.stl"
# the sphere: LODs simplify (meshoptimizer) to fewer triangles
m=$(field "$(id_of off/sphere.off)" meta)
[ "$(jq '.lods[1].triangles' <<<"$m")" -lt "$(jq '.triangles' <<<"$m")" ] ||
    mf_fail "lod-2 of the sphere is not simpler: $(jq -c .lods <<<"$m")"
# assimp 5.2's binary FBX exporter writes a file its own importer refuses (`assimp info`
# fails alike): a failed record naming the importer's error
mf_expect_status fbx/box.fbx failed 60
grep -q "FBX" <<<"$(field "$(id_of fbx/box.fbx)" error)" ||
    mf_fail "FBX error: $(field "$(id_of fbx/box.fbx)" error)"
# the texture is in the GLB (a PNG in its buffer), not a reference to a file beside it
python3 - "$MF_OUTBOX/$(id_of tex/box.obj)/model.glb" <<'PY' || mf_fail "tex/box.obj: texture not embedded"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
doc = json.loads(b[20:20 + struct.unpack_from("<I", b, 12)[0]])
imgs = doc["images"]
assert len(imgs) == 1 and "uri" not in imgs[0] and imgs[0]["mimeType"] == "image/png", imgs
assert any("baseColorTexture" in m.get("pbrMetallicRoughness", {}) for m in doc["materials"])
PY
# the 3MF previews
mf_expect_status 3mft/box.3mf done 120
id=$(id_of 3mft/box.3mf)
mf_assert_eq "$(field "$id" outputs | jq -r 'map(sub(".*/"; "")) | join(" ")')" \
    "thumb-512.png model.glb lod-1.glb lod-2.glb turntable.webp thumb-3mf.png" "outputs of 3mft/box.3mf"
mf_assert_eq "$(vipsheader -f width "$MF_OUTBOX/$id/thumb-3mf.png")x$(vipsheader -f height "$MF_OUTBOX/$id/thumb-3mf.png")" \
    64x48 "size of the 3MF's thumbnail"
mf_assert_eq "$(field "$id" meta | jq .triangles)" 12 "triangles of 3mft/box.3mf"
mf_expect_status 3mfbad/box.3mf done 120
id=$(id_of 3mfbad/box.3mf)
mf_assert_eq "$(field "$id" outputs | jq -r 'map(sub(".*/"; "")) | join(" ")')" \
    "thumb-512.png model.glb lod-1.glb lod-2.glb turntable.webp" "outputs of 3mfbad/box.3mf"
mf_assert_eq "$(field "$id" meta | jq -r '.warnings | join(";")')" \
    "the 3MF thumbnail was left out: not a PNG or JPEG" "warning of 3mfbad/box.3mf"
# companions are not failed records
mf_assert_eq "$(field "$(id_of gltf2/box.bin)" status)" unsupported "status of the glTF's .bin"
kill -0 "$MF_PID_worker" || mf_fail "the worker died"
# model_turntable=0: turntable.webp is one still image, the 16 views stacked top to bottom
MF_MODEL_TURNTABLE=0 "$MF_BIN_DIR/mf-worker-model" process "$T/m/obj/box.obj" --out "$T/still" \
    >"$T/still.json" || mf_fail "one-shot with model_turntable=0: $(cat "$T/still.json")"
n=$(vipsheader -f n-pages "$T/still/turntable.webp" 2>/dev/null || true) # absent: one page
mf_assert_eq "${n:-1}" 1 "pages of the still turntable"
mf_assert_eq "$(vipsheader -f width "$T/still/turntable.webp")x$(vipsheader -f height "$T/still/turntable.webp")" \
    256x4096 "size of the still turntable"
mf_pass
