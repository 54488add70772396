#!/usr/bin/env bash
# The dispatcher names 3D models by content (dispatcher/sniff3d.c): libmagic calls them
# text/plain, application/octet-stream, application/json, application/zip or image/x-3ds;
# each format made by assimp's own exporters is recorded with its model/* type on the model
# lane, a 3DS never reaches the image lane, and text or binary files that are not models
# stay unsupported.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/model_lib.sh"
mf_setup

mk_box_obj "$T/y.obj" y
for spec in obj:obj stl:stl stlb:stl ply:ply plyb:ply gltf2:gltf glb2:glb 3ds:3ds collada:dae \
    fbx:fbx fbxa:fbx 3mf:3mf; do
    fmt=${spec%%:*} ext=${spec##*:}
    assimp export "$T/y.obj" "$T/m_$fmt.$ext" "-f$fmt" >/dev/null 2>&1 ||
        mf_fail "assimp export -f$fmt failed"
done
mk_sphere_off "$T/m_off.off" 8
mk_zae "$T/m_collada.dae" "$T/m_zae.zae"
# not models: a text file, a random binary, JSON that is not glTF, a zip without 3D/
printf 'hello\nworld\n' >"$T/n_text.txt"
head -c 4096 /dev/urandom >"$T/n_bin.dat"
printf '{"a": 1, "version": 2}\n' >"$T/n_json.json"
(cd "$T" && python3 -c 'import zipfile; z = zipfile.ZipFile("n_zip.zip", "w"); z.writestr("a.txt", "x"); z.close()')

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
# the upload's companions (.bin of the glTF, .mtl of an OBJ) go in too, as a user copies them
cp "$T"/m_* "$T"/n_* "$MF_INBOX/"
[ -f "$T/m_gltf2.bin" ] || mf_fail "assimp wrote no .bin for the glTF"

expect() { # FILE MIME TYPE
    local id
    mf_wait 20 "$1 recorded" status_is "$1" "${4:-queued}"
    id=$(id_of "$1")
    mf_assert_eq "$(field "$id" mime)" "$2" "mime of $1"
    mf_assert_eq "$(field "$id" type)" "$3" "type of $1"
}
expect m_obj.obj model/obj model
expect m_stl.stl model/stl model
expect m_stlb.stl model/stl model
expect m_ply.ply model/x-ply model
expect m_plyb.ply model/x-ply model
expect m_gltf2.gltf model/gltf+json model
expect m_glb2.glb model/gltf-binary model
expect m_3ds.3ds model/x-3ds model
expect m_collada.dae model/vnd.collada+xml model
expect m_fbx.fbx model/x-fbx model
expect m_fbxa.fbx model/x-fbx model
expect m_3mf.3mf model/3mf model
expect m_zae.zae model/vnd.collada+zip model
expect m_off.off model/x-off model
expect n_text.txt text/plain other unsupported
expect n_bin.dat application/octet-stream other unsupported
expect n_json.json application/json other unsupported
expect n_zip.zip application/zip other unsupported
# no job of a model on another lane: 14 on mf:q:model, none on mf:q:image
mf_assert_eq "$(rraw XLEN mf:q:model)" 14 "jobs on mf:q:model"
mf_assert_eq "$(rraw XLEN mf:q:image)" 0 "jobs on mf:q:image"
mf_pass
