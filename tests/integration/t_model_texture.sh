#!/usr/bin/env bash
# Textures in the model lane's thumbnail: a white box whose material's diffuse map (OBJ map_Kd,
# and the same box as glTF 2.0) is a pure red PNG goes through the fleet, ends done, and the
# pixels of thumb-512.png where the box is drawn are red (the texture, shaded), not the
# material's white. The same box with its texture file absent still ends done, drawn
# untextured (light grey), with a warning naming the texture; one whose texture is a
# truncated PNG (a good header, then nothing: embedded, but it does not decode) ends done too,
# with a warning that it was not drawn.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/model_lib.sh"
mf_setup

mk_box_obj "$T/y.obj" y
mkdir -p "$T/m/red" "$T/m/nofile" "$T/m/broken" "$T/m/gltf"
vips black "$T/black.v" 16 16 --bands 3
vips linear "$T/black.v" "$T/m/red/red.png" "1 1 1" "255 0 0" --uchar
head -c 60 "$T/m/red/red.png" >"$T/m/broken/red.png"
for d in red nofile broken; do
    # (each file its own content: the fleet takes a copy of one it has seen as a duplicate)
    printf '# %s\nnewmtl W\nKd 1 1 1\nmap_Kd red.png\n' "$d" >"$T/m/$d/box.mtl"
    {
        printf '# %s\nmtllib box.mtl\nusemtl W\nvt 0 0\nvt 1 0\nvt 0 1\n' "$d"
        grep '^v ' "$T/y.obj"
        awk '/^f /{printf "f %s/1 %s/2 %s/3\n", $2, $3, $4}' "$T/y.obj"
    } >"$T/m/$d/box.obj"
done
# the glTF: assimp's own exporter, the texture beside it
assimp export "$T/m/red/box.obj" "$T/m/gltf/box.gltf" -fgltf2 >/dev/null 2>&1 ||
    mf_fail "assimp export -fgltf2 failed"
cp "$T/m/red/red.png" "$T/m/gltf/red.png"
grep -q '"red.png"' "$T/m/gltf/box.gltf" || mf_fail "the glTF does not name red.png"

mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-model"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
cp -r "$T/m/." "$MF_INBOX/"

# colours REL: "<model pixels> <red ones> <grey ones>" of REL's thumbnail; a model pixel is
# one that is not the background (245, 245, 245)
colours() {
    local id
    id=$(id_of "$1")
    vips rawsave "$MF_OUTBOX/$id/thumb-512.png" "$T/thumb.raw" || mf_fail "vips rawsave failed"
    python3 - "$T/thumb.raw" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
assert len(b) == 512 * 512 * 4, len(b)
model = red = grey = 0
for i in range(0, len(b), 4):
    r, g, bl = b[i], b[i + 1], b[i + 2]
    if abs(r - 245) + abs(g - 245) + abs(bl - 245) <= 6:
        continue
    model += 1
    if r > 50 and g * 3 < r and bl * 3 < r:
        red += 1
    elif max(r, g, bl) - min(r, g, bl) < 40:
        grey += 1
print(model, red, grey)
PY
}
for rel in red/box.obj gltf/box.gltf nofile/box.obj broken/box.obj; do
    mf_expect_status "$rel" done 120
done
for rel in red/box.obj gltf/box.gltf; do
    read -r model red _ <<<"$(colours "$rel")"
    [ "$model" -gt 20000 ] || mf_fail "$rel: the box covers only $model pixels"
    [ $((red * 100)) -ge $((model * 95)) ] ||
        mf_fail "$rel: $red of $model model pixels are red (the texture is not drawn)"
    mf_assert_eq "$(field "$(id_of "$rel")" meta | jq -r '.warnings // [] | length')" 0 \
        "warnings of $rel"
done
# no texture file: drawn with the material's colour, and a warning
read -r model red grey <<<"$(colours nofile/box.obj)"
[ "$model" -gt 20000 ] && [ "$red" -eq 0 ] && [ $((grey * 100)) -ge $((model * 95)) ] ||
    mf_fail "nofile/box.obj: $model model pixels, $red red, $grey grey"
grep -q "texture red.png left out" <<<"$(field "$(id_of nofile/box.obj)" meta | jq -r '.warnings[]')" ||
    mf_fail "nofile/box.obj: no warning about red.png: $(field "$(id_of nofile/box.obj)" meta)"
# a texture that does not decode never fails the job
read -r model _ _ <<<"$(colours broken/box.obj)"
[ "$model" -gt 20000 ] || mf_fail "broken/box.obj: the box covers only $model pixels"
grep -q "texture red.png not drawn" <<<"$(field "$(id_of broken/box.obj)" meta | jq -r '.warnings[]')" ||
    mf_fail "broken/box.obj: no warning about red.png: $(field "$(id_of broken/box.obj)" meta)"
mf_assert_eq "$(field "$(id_of broken/box.obj)" outputs | jq -r 'map(sub(".*/"; "")) | join(" ")')" \
    "thumb-512.png model.glb lod-1.glb lod-2.glb turntable.webp" "outputs of broken/box.obj"
kill -0 "$MF_PID_worker" || mf_fail "the worker died"
mf_pass
