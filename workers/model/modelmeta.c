/* meta of a model: what assimp imported, counted as `assimp info` counts it, and the
 * world-space bounding box. */
#include <assimp/cimport.h>
#include <assimp/importerdesc.h>
#include <assimp/metadata.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include "model.h"

static const mf_model_format mf__formats[] = {
    {"model/obj", "obj", "obj", 0, "Wavefront Object Importer"},
    {"model/stl", "stl", "stl", 1, "Stereolithography (STL) Importer"},
    {"model/x-ply", "ply", "ply", 0, "Stanford Polygon Library (PLY) Importer"},
    {"model/x-off", "off", "off", 1, "OFF Importer"},
    /* glTF 2.0 only: assimp's glTF 1.0 importer claims the same extensions */
    {"model/gltf+json", "gltf", "gltf", 0, "glTF2 Importer"},
    {"model/gltf-binary", "glb", "glb", 0, "glTF2 Importer"},
    {"model/3mf", "3mf", "3mf", 1, "3mf Importer"},
    /* +Z up, but assimp's importer turns its root to +Y */
    {"model/x-3ds", "3ds", "3ds", 0, "Discreet 3DS Importer"},
    {"model/x-fbx", "fbx", "fbx", 0, "Autodesk FBX Importer"},
    {"model/vnd.collada+xml", "dae", "collada", 0, "Collada Importer"},
    {"model/vnd.collada+zip", "zae", "zae", 0, "Collada Importer"},
};

const mf_model_format *mf_model_format_of(const char *mime)
{
    for (size_t i = 0; mime != NULL && i < sizeof(mf__formats) / sizeof(mf__formats[0]); i++) {
        if (strcmp(mf__formats[i].mime, mime) == 0)
            return &mf__formats[i];
    }
    return NULL;
}

const mf_model_format *mf_model_format_by_ext(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;

    for (size_t i = 0; dot != NULL && i < sizeof(mf__formats) / sizeof(mf__formats[0]); i++) {
        if (strcasecmp(mf__formats[i].ext, dot + 1) == 0)
            return &mf__formats[i];
    }
    return NULL;
}

static void mf__box_node(const struct aiScene *s, const struct aiNode *node,
                         struct aiMatrix4x4 parent, mf_model_box *box, size_t *n, int depth)
{
    struct aiMatrix4x4 m = parent;

    if (depth > 1000) /* assimp's own validation refuses deeper; never recurse without end */
        return;
    aiMultiplyMatrix4(&m, &node->mTransformation);
    for (unsigned i = 0; i < node->mNumMeshes; i++) {
        const struct aiMesh *mesh;

        if (node->mMeshes[i] >= s->mNumMeshes)
            continue;
        mesh = s->mMeshes[node->mMeshes[i]];
        for (unsigned v = 0; v < mesh->mNumVertices; v++) {
            struct aiVector3D p = mesh->mVertices[v];

            if (!isfinite(p.x) || !isfinite(p.y) || !isfinite(p.z)) {
                box->nonfinite++;
                continue;
            }
            aiTransformVecByMatrix4(&p, &m);
            for (int k = 0; k < 3; k++) {
                double c = k == 0 ? p.x : k == 1 ? p.y : p.z;

                if (*n == 0 || c < box->min[k])
                    box->min[k] = c;
                if (*n == 0 || c > box->max[k])
                    box->max[k] = c;
            }
            (*n)++;
        }
    }
    for (unsigned i = 0; i < node->mNumChildren; i++)
        mf__box_node(s, node->mChildren[i], m, box, n, depth + 1);
}

int mf_model_bounds(const struct aiScene *s, mf_model_box *box)
{
    struct aiMatrix4x4 id;
    size_t n = 0;

    memset(box, 0, sizeof(*box));
    aiIdentityMatrix4(&id);
    if (s->mRootNode != NULL)
        mf__box_node(s, s->mRootNode, id, box, &n, 0);
    return n > 0;
}

size_t mf_model_triangles(const struct aiScene *s)
{
    size_t t = 0;

    for (unsigned i = 0; i < s->mNumMeshes; i++) {
        for (unsigned f = 0; f < s->mMeshes[i]->mNumFaces; f++)
            t += s->mMeshes[i]->mFaces[f].mNumIndices == 3;
    }
    return t;
}

static int mf__depth(const struct aiNode *n, int d, size_t *nodes)
{
    int best = d;

    (*nodes)++;
    for (unsigned i = 0; n != NULL && i < n->mNumChildren && d < 1000; i++) {
        int c = mf__depth(n->mChildren[i], d + 1, nodes);

        best = c > best ? c : best;
    }
    return best;
}

/* The scene's metadata entry key, or NULL. */
static const struct aiMetadataEntry *mf__md(const struct aiScene *s, const char *key)
{
    const struct aiMetadata *md = s->mMetaData;

    for (unsigned i = 0; md != NULL && i < md->mNumProperties; i++) {
        if (strcmp(md->mKeys[i].data, key) == 0)
            return &md->mValues[i];
    }
    return NULL;
}

/* generator, units and up axis, each with where it came from: the file (assimp's metadata)
 * or the format's convention */
static void mf__provenance(json_t *meta, const struct aiScene *s, const mf_model_format *f)
{
    const struct aiMetadataEntry *gen = mf__md(s, "SourceAsset_Generator");
    const struct aiMetadataEntry *unit = mf__md(s, "UnitScaleFactor");
    const struct aiMetadataEntry *up = mf__md(s, "UpAxis");
    const struct aiMetadataEntry *fmt = mf__md(s, "SourceAsset_Format");
    const struct aiImporterDesc *imp = aiGetImporterDesc(f->ext);
    static const char *const axes[] = {"+x", "+y", "+z"};

    /* the importer's own name when it records one (glTF 1 and 2 share an extension) */
    if (fmt != NULL && fmt->mType == AI_AISTRING && fmt->mData != NULL)
        json_object_set_new(meta, "importer",
                            json_string(((const struct aiString *)fmt->mData)->data));
    else if (imp != NULL && imp->mName != NULL)
        json_object_set_new(meta, "importer", json_string(imp->mName));
    if (gen != NULL && gen->mType == AI_AISTRING && gen->mData != NULL)
        json_object_set_new(meta, "generator",
                            json_string(((const struct aiString *)gen->mData)->data));
    if (unit != NULL && unit->mData != NULL &&
        (unit->mType == AI_DOUBLE || unit->mType == AI_FLOAT)) {
        double v =
            unit->mType == AI_DOUBLE ? *(const double *)unit->mData : *(const float *)unit->mData;

        json_object_set_new(meta, "unit_scale", json_real(v));
        json_object_set_new(meta, "unit_scale_from", json_string("file"));
    }
    if (up != NULL && up->mType == AI_INT32 && up->mData != NULL &&
        *(const int32_t *)up->mData >= 0 && *(const int32_t *)up->mData <= 2) {
        json_object_set_new(meta, "up_axis", json_string(axes[*(const int32_t *)up->mData]));
        json_object_set_new(meta, "up_axis_from", json_string("file"));
    } else {
        json_object_set_new(meta, "up_axis", json_string(f->z_up ? "+z" : "+y"));
        json_object_set_new(meta, "up_axis_from", json_string("format"));
    }
}

static json_t *mf__vec(const double v[3])
{
    return json_pack("[f,f,f]", v[0], v[1], v[2]);
}

json_t *mf_model_meta(const struct aiScene *s, const mf_model_format *f)
{
    size_t verts = 0, tris = 0, points = 0, lines = 0, bones = 0, morphs = 0, nodes = 0;
    int normals = 0, uvs = 0, colours = 0, depth;
    json_t *meta = json_object();
    mf_model_box box;

    for (unsigned i = 0; i < s->mNumMeshes; i++) {
        const struct aiMesh *m = s->mMeshes[i];

        verts += m->mNumVertices;
        bones += m->mNumBones;
        morphs += m->mNumAnimMeshes;
        normals |= m->mNormals != NULL;
        uvs |= m->mTextureCoords[0] != NULL;
        colours |= m->mColors[0] != NULL;
        for (unsigned k = 0; k < m->mNumFaces; k++) {
            unsigned n = m->mFaces[k].mNumIndices;

            tris += n == 3;
            lines += n == 2;
            points += n == 1;
        }
    }
    depth = mf__depth(s->mRootNode, 0, &nodes);
    json_object_set_new(meta, "format", json_string(f->name));
    json_object_set_new(meta, "meshes", json_integer(s->mNumMeshes));
    json_object_set_new(meta, "vertices", json_integer((json_int_t)verts));
    json_object_set_new(meta, "triangles", json_integer((json_int_t)tris));
    json_object_set_new(meta, "points", json_integer((json_int_t)points));
    json_object_set_new(meta, "lines", json_integer((json_int_t)lines));
    json_object_set_new(meta, "materials", json_integer(s->mNumMaterials));
    json_object_set_new(meta, "textures", json_integer(s->mNumTextures));
    json_object_set_new(meta, "animations", json_integer(s->mNumAnimations));
    json_object_set_new(meta, "bones", json_integer((json_int_t)bones));
    json_object_set_new(meta, "morph_targets", json_integer((json_int_t)morphs));
    json_object_set_new(meta, "nodes", json_integer((json_int_t)nodes));
    json_object_set_new(meta, "depth", json_integer(depth));
    json_object_set_new(meta, "has_normals", json_boolean(normals));
    json_object_set_new(meta, "has_uvs", json_boolean(uvs));
    json_object_set_new(meta, "has_colors", json_boolean(colours));
    mf__provenance(meta, s, f);
    if (mf_model_bounds(s, &box)) {
        double size[3], centre[3];

        for (int k = 0; k < 3; k++) {
            size[k] = box.max[k] - box.min[k];
            centre[k] = (box.max[k] + box.min[k]) / 2;
        }
        json_object_set_new(meta, "bbox",
                            json_pack("{s:o,s:o,s:o,s:o}", "min", mf__vec(box.min), "max",
                                      mf__vec(box.max), "size", mf__vec(size), "center",
                                      mf__vec(centre)));
    }
    json_object_set_new(meta, "nonfinite", json_integer((json_int_t)box.nonfinite));
    return meta;
}
