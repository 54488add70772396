/* model.glb and its levels of detail. The GLB is assimp's glb2 exporter's (to memory, then
 * written atomically). A LOD is a copy of the scene whose triangle lists meshoptimizer
 * simplified (meshopt_simplify, error bound 5 % of the mesh extent), reordered for the vertex
 * cache (meshopt_optimizeVertexCache) and whose vertices are then cut to those still used,
 * in the order the triangles fetch them (meshopt_optimizeVertexFetchRemap; the arrays are
 * reallocated by modelimport.cpp, since the scene frees them with delete[]). */
#include <assimp/cexport.h>
#include <assimp/cimport.h>
#include <malloc.h>
#include <meshoptimizer.h>
#include <stdlib.h>
#include <string.h>
#include "mf/alloc.h"
#include "mf/fsutil.h"
#include "model.h"
#include "modelimport.h"

int mf_model_export_glb(const struct aiScene *s, const char *outdir, const char *name, mf_err *err)
{
    struct aiScene *w = (struct aiScene *)s; /* only mFlags, restored below */
    const unsigned flags = s->mFlags;
    const struct aiExportDataBlob *blob;
    int rc = 0;

    /* The glb2 exporter joins identical vertices on its copy of the scene unless the import
     * did (modelimport.cpp marks it so); but a scene flagged as sharing vertices is first
     * un-shared (MakeVerboseFormat) and, the join being done, written so: three vertices a
     * triangle, and a peak of 370 MB on a million triangles. Our vertices are joined, so
     * the exporter is told to take them as they are. */
    w->mFlags &= ~(unsigned)AI_SCENE_FLAGS_NON_VERBOSE_FORMAT;
    blob = aiExportSceneToBlob(s, "glb2", 0);
    w->mFlags = flags;

    if (blob == NULL || blob->data == NULL || blob->size == 0) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "aiExportSceneToBlob(glb2) failed: %s",
                        aiGetErrorString());
        goto out;
    }
    rc = mf_fs_write_atomic(outdir, name, blob->data, blob->size, err);
out:
    if (blob != NULL)
        aiReleaseExportBlob(blob);
    return rc;
}

/* Simplifies one mesh's triangles in place to about ratio of them; returns those kept. */
static size_t mf__lod_mesh(struct aiMesh *m, double ratio, float *worst)
{
    size_t tris = 0, n, target, kept;
    unsigned *idx, *out;
    float e = 0;

    for (unsigned f = 0; f < m->mNumFaces; f++)
        tris += m->mFaces[f].mNumIndices == 3;
    if (tris == 0 || tris != m->mNumFaces)
        return tris; /* points, lines or mixed primitives: kept as they are */
    n = tris * 3;
    idx = mf_xmalloc(n * sizeof(*idx));
    out = mf_xmalloc(n * sizeof(*out));
    for (unsigned f = 0; f < m->mNumFaces; f++)
        memcpy(idx + 3 * f, m->mFaces[f].mIndices, 3 * sizeof(*idx));
    target = (size_t)((double)tris * ratio) * 3;
    if (target < 3)
        target = 3;
    kept = meshopt_simplify(out, idx, n, &m->mVertices[0].x, m->mNumVertices,
                            sizeof(struct aiVector3D), target, 0.05f, 0, &e);
    if (kept >= 3) {
        meshopt_optimizeVertexCache(idx, out, kept, m->mNumVertices);
        for (size_t f = 0; f < kept / 3; f++)
            memcpy(m->mFaces[f].mIndices, idx + 3 * f, 3 * sizeof(*idx));
        m->mNumFaces = (unsigned)(kept / 3);
        if (m->mNumBones == 0 && m->mNumAnimMeshes == 0) {
            unsigned *remap = mf_xmalloc(m->mNumVertices * sizeof(*remap));
            size_t used = meshopt_optimizeVertexFetchRemap(remap, idx, kept, m->mNumVertices);

            mf_model_mesh_remap(m, remap, used);
            free(remap);
        }
    }
    if (e > *worst)
        *worst = e;
    free(idx);
    free(out);
    return m->mNumFaces;
}

int mf_model_lod(const struct aiScene *s, double ratio, const char *outdir, const char *name,
                 size_t *tris, double *error, mf_err *err)
{
    struct aiScene *copy = NULL;
    float worst = 0;
    int rc;

    *tris = 0;
    aiCopyScene(s, &copy);
    for (unsigned i = 0; i < copy->mNumMeshes; i++)
        *tris += mf__lod_mesh(copy->mMeshes[i], ratio, &worst);
    *error = worst;
    rc = mf_model_export_glb(copy, outdir, name, err);
    aiFreeScene(copy);
    malloc_trim(0); /* see model.c mf__trim() */
    return rc;
}
