# Fixtures of the model tests (source after lib.sh): meshes written by python, converted by
# assimp's own exporters (`assimp export`, Debian package assimp-utils).
command -v assimp >/dev/null || { echo "SKIP: assimp (assimp-utils) not installed"; exit 77; }

# mk_box_obj FILE AXIS: a box 1 x 1 x 3, long along AXIS (y or z), as OBJ with normals
mk_box_obj() {
    python3 - "$1" "$2" <<'PY'
import sys
path, axis = sys.argv[1], sys.argv[2]
sx, sy, sz = (1, 3, 1) if axis == "y" else (1, 1, 3)
v = [(x * sx, y * sy, z * sz) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
with open(path, "w") as f:
    f.write("# box\no box\n")
    for p in v:
        f.write("v %g %g %g\n" % p)
    for a, b, c, d in quads:
        f.write("f %d %d %d\nf %d %d %d\n" % (a + 1, b + 1, c + 1, a + 1, c + 1, d + 1))
PY
}

# mk_sphere_off FILE N: a UV sphere (N rings) as OFF, stretched 3x along Z and 1.6x along X
# (not symmetric about its up axis, so the turntable's frames differ)
mk_sphere_off() {
    python3 - "$1" "$2" <<'PY'
import math, sys
path, n = sys.argv[1], int(sys.argv[2])
v, f = [], []
for i in range(n + 1):
    t = math.pi * i / n
    for j in range(2 * n):
        p = 2 * math.pi * j / (2 * n)
        v.append((1.6 * math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), 3 * math.cos(t)))
for i in range(n):
    for j in range(2 * n):
        a, b = i * 2 * n + j, i * 2 * n + (j + 1) % (2 * n)
        c, d = a + 2 * n, b + 2 * n
        f += [(a, c, b), (b, c, d)]
with open(path, "w") as out:
    out.write("OFF\n%d %d 0\n" % (len(v), len(f)))
    for p in v:
        out.write("%f %f %f\n" % p)
    for t in f:
        out.write("3 %d %d %d\n" % t)
PY
}

# assimp_faces FILE: the faces assimp itself reads in FILE (`assimp info`)
assimp_faces() { assimp info "$1" 2>/dev/null | sed -n 's/^Faces: *\([0-9]*\)$/\1/p'; }

# gltf_validate FILE...: the Khronos glTF validator (npm package gltf-validator, pinned) on
# each file; fails the test on any error, printing the validator's messages. The package is
# installed once per build tree into $MF_BIN_DIR/../npm (under a lock: tests run in
# parallel). Skips (77) only when node or npm is missing.
MF_GLTF_VALIDATOR_VERSION=2.0.0-dev.3.10
gltf_validate() {
    local dir=$MF_BIN_DIR/../npm out
    command -v node >/dev/null && command -v npm >/dev/null ||
        { echo "SKIP: node/npm (Debian packages nodejs, npm) not installed"; exit 77; }
    mkdir -p "$dir"
    (
        flock 9
        [ -f "$dir/node_modules/gltf-validator/package.json" ] &&
            grep -q "\"version\": \"$MF_GLTF_VALIDATOR_VERSION\"" \
                "$dir/node_modules/gltf-validator/package.json" && exit 0
        npm install --no-audit --no-fund --no-save --prefix "$dir" \
            "gltf-validator@$MF_GLTF_VALIDATOR_VERSION" >"$dir/install.log" 2>&1
    ) 9>"$dir/.lock" || mf_fail "npm install gltf-validator failed: $(tail -5 "$dir/install.log")"
    out=$(node "$(dirname "${BASH_SOURCE[0]}")/gltf_validate.js" "$dir" "$@" 2>&1) ||
        mf_fail "glTF validator: $out"
}

# add_3mf_thumbnail 3MF FILE: adds FILE to the 3MF package as Metadata/thumbnail.png with the
# package relationship a slicer writes for its preview
add_3mf_thumbnail() {
    python3 - "$1" "$2" <<'PY'
import shutil, sys, zipfile
src, thumb = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    parts = {n: z.read(n) for n in z.namelist()}
rel = ('<Relationship Target="/Metadata/thumbnail.png" Id="thumb" Type="http://schemas.'
       'openxmlformats.org/package/2006/relationships/metadata/thumbnail" />')
parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"</Relationships>",
                                                    rel.encode() + b"</Relationships>")
parts["Metadata/thumbnail.png"] = open(thumb, "rb").read()
with zipfile.ZipFile(src + ".new", "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in parts.items():
        z.writestr(name, data)
shutil.move(src + ".new", src)
PY
}

# mk_zae DAE ZAE: zipped COLLADA, a manifest.xml naming the .dae at the archive's root
mk_zae() {
    python3 - "$1" "$2" <<'PY'
import sys, zipfile
dae, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("manifest.xml",
               '<?xml version="1.0" encoding="utf-8"?>\n<dae_root>./box.dae</dae_root>\n')
    z.write(dae, "box.dae")
PY
}
