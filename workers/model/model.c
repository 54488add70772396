/* The 3D-model lane: one upload in; thumb-512.png, model.glb, lod-1.glb, lod-2.glb,
 * turntable.webp (and a 3MF's thumb-3mf.png) and meta out.
 *
 * assimp 5.2 (Debian 12) has a long fuzzing record and no security fixes, so the executor is
 * the sandbox (memory cap, wall clock, crash = failed with the signal named), and this file
 * keeps assimp's reach small: one importer per format reads the file, every other one is
 * unregistered before the import (modelimport.cpp), a MIME type outside the list fails before
 * assimp reads a byte, and every file it opens goes through the jailed file system of
 * modelio.c. */
#include <assimp/cimport.h>
#include <assimp/postprocess.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>
#include "mf/alloc.h"
#include "mf/fsutil.h"
#include "mf/log.h"
#include "model.h"
#include "modelimport.h"

/* Post-processing before meta is taken: what `assimp info` applies, so that the counts
 * agree with it (triangulated faces, primitives split by type, validated structure). */
#define MF__IMPORT_FLAGS                                                                           \
    (aiProcess_Triangulate | aiProcess_SortByPType | aiProcess_ValidateDataStructure |             \
     aiProcess_JoinIdenticalVertices)

#define MF__THUMB_SIZE 512
/* turntable.webp: 16 frames of 256 px, one turn in 1.3 s */
#define MF__TURNTABLE_SIZE 256
#define MF__TURNTABLE_FRAMES 16

static int mf__turntable_animated = 1; /* config model_turntable */

static int mf__model_init(const mf_config *cfg, mf_err *err)
{
    mf__turntable_animated = cfg->model_turntable != 0;
    if (VIPS_INIT("mf-exec-model") != 0)
        return mf_err_set(err, MF_ECONFIG, "VIPS_INIT() failed: %s", vips_error_buffer());
    vips_concurrency_set(1);
    return 0;
}

static void mf__model_shutdown(void)
{
    mf_model_render_close();
    vips_shutdown();
}

/* Imports the upload through the jail; a reference not there yet is retryable (a folder
 * copied in any order), one outside the folder is reported. */
/* assimp names the file it was given, the jail's name for the upload (mf-upload.<ext>): the
 * upload's own name in its place, so the error names a file the user knows. */
static void mf__unjail(char *why, size_t size, const char *jail, const char *path)
{
    const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    char *at = strstr(why, jail);
    char rest[400];

    if (at == NULL || jail[0] == '\0')
        return;
    snprintf(rest, sizeof(rest), "%s", at + strlen(jail));
    snprintf(at, size - (size_t)(at - why), "%s%s", base, rest);
}

static int mf__import(const mf_lane_job *job, const mf_model_format *f, mf_model_io *mio,
                      const struct aiScene **out, mf_err *err)
{
    const struct aiScene *s;
    unsigned char *pkg = NULL;
    size_t pkg_len = 0;
    char why[400];
    int rc, no_importer = 0;

    rc = mf_model_io_init(mio, job->path, job->fd, f->ext, err);
    if (rc < 0)
        goto out;
    if (strcmp(f->ext, "3mf") == 0 && mf_model_3mf_without_thumbnails(job->fd, &pkg, &pkg_len)) {
        /* assimp 5.2 crashes on a 3MF's thumbnail part: it reads the package without it
         * (the thumbnail itself becomes thumb-3mf.png, read from the original) */
        mio->main_mem = pkg;
        mio->main_len = pkg_len;
    }
    s = mf_model_import(&mio->io, mio->main_name, f->importer, MF__IMPORT_FLAGS, why, sizeof(why),
                        &no_importer);
    if (s == NULL && no_importer) {
        rc = mf_err_set(err, MF_ECONFIG, "Importer::ReadFile() failed: %s", why);
        goto out;
    }
    if (s == NULL && mio->missing[0] != '\0') {
        rc = mf_err_set(err, MF_EBUSY, "Importer::ReadFile() failed: referenced file %s: %s",
                        mio->missing, why);
        goto out;
    }
    if (s == NULL) {
        mf__unjail(why, sizeof(why), mio->main_name, job->path);
        rc = mf_err_set(err, MF_ECORRUPT, "Importer::ReadFile() failed (%s): %s%s%s", f->importer,
                        why, mio->refused[0] ? "; refused " : "", mio->refused);
        goto out;
    }
    if (s->mNumMeshes == 0 || s->mRootNode == NULL) {
        aiReleaseImport(s);
        rc = mf_err_set(err, MF_ECORRUPT, "Importer::ReadFile() found no mesh in the %s file",
                        f->name);
        goto out;
    }
    *out = s;
out:
    mio->main_mem = NULL; /* the importer is done with it */
    free(pkg);
    return rc;
}

/* Gives the memory freed by the last step back to the system. assimp's importers and
 * exporters free hundreds of MB in small blocks that glibc keeps in its heap: without this the
 * peak of one step stays resident under the next one's (887 MB instead of < 600 MB on a
 * million triangles). */
static void mf__trim(void)
{
    malloc_trim(0);
}

/* Normals as glTF wants them (unit length, finite): a non-unit one is scaled, a zero or
 * non-finite one (an exporter's placeholder, a degenerate face's) is replaced by the
 * area-weighted normal of the faces that use the vertex. Returns the normals replaced. */
static size_t mf__repair_normals(struct aiMesh *m)
{
    unsigned char *bad = NULL;
    size_t fixed = 0;

    if (m->mNormals == NULL)
        return 0;
    for (unsigned v = 0; v < m->mNumVertices; v++) {
        struct aiVector3D *n = &m->mNormals[v];
        float len = sqrtf(n->x * n->x + n->y * n->y + n->z * n->z);

        if (isfinite(len) && len > 1e-12f) {
            *n = (struct aiVector3D){n->x / len, n->y / len, n->z / len};
            continue;
        }
        if (bad == NULL)
            bad = mf_xcalloc(m->mNumVertices, 1);
        bad[v] = 1;
        *n = (struct aiVector3D){0, 0, 0};
        fixed++;
    }
    for (unsigned f = 0; bad != NULL && f < m->mNumFaces; f++) {
        const struct aiFace *face = &m->mFaces[f];
        struct aiVector3D p, e1, e2, c;

        if (face->mNumIndices != 3)
            continue;
        p = m->mVertices[face->mIndices[0]];
        e1 = m->mVertices[face->mIndices[1]];
        e2 = m->mVertices[face->mIndices[2]];
        e1 = (struct aiVector3D){e1.x - p.x, e1.y - p.y, e1.z - p.z};
        e2 = (struct aiVector3D){e2.x - p.x, e2.y - p.y, e2.z - p.z};
        c = (struct aiVector3D){e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z,
                                e1.x * e2.y - e1.y * e2.x};
        if (!isfinite(c.x) || !isfinite(c.y) || !isfinite(c.z))
            continue;
        for (unsigned k = 0; k < 3; k++) {
            struct aiVector3D *n = &m->mNormals[face->mIndices[k]];

            if (bad[face->mIndices[k]])
                *n = (struct aiVector3D){n->x + c.x, n->y + c.y, n->z + c.z};
        }
    }
    for (unsigned v = 0; bad != NULL && v < m->mNumVertices; v++) {
        struct aiVector3D *n = &m->mNormals[v];
        float len = sqrtf(n->x * n->x + n->y * n->y + n->z * n->z);

        if (!bad[v])
            continue;
        if (isfinite(len) && len > 1e-12f)
            *n = (struct aiVector3D){n->x / len, n->y / len, n->z / len};
        else
            *n = (struct aiVector3D){0, 0, 1}; /* no face with an area uses it */
    }
    free(bad);
    return fixed;
}

/* Vertices with a NaN or infinite coordinate (counted in meta.nonfinite) are no geometry a
 * viewer can draw, and glTF forbids them: the faces that use one go (swapped to the end of
 * the array, which the scene still frees whole), and the vertex is moved to the origin so
 * that no accessor holds a non-finite value. Non-finite texture coordinates and colours
 * become 0. Returns the faces dropped. */
static size_t mf__drop_nonfinite(struct aiMesh *m)
{
    unsigned char *bad = NULL;
    size_t dropped = 0;
    unsigned kept = 0;

    for (unsigned v = 0; v < m->mNumVertices; v++) {
        const struct aiVector3D *p = &m->mVertices[v];

        for (unsigned k = 0; k < AI_MAX_NUMBER_OF_TEXTURECOORDS; k++) {
            struct aiVector3D *t = m->mTextureCoords[k] ? &m->mTextureCoords[k][v] : NULL;

            if (t != NULL && !(isfinite(t->x) && isfinite(t->y) && isfinite(t->z)))
                *t = (struct aiVector3D){0, 0, 0};
        }
        for (unsigned k = 0; k < AI_MAX_NUMBER_OF_COLOR_SETS; k++) {
            struct aiColor4D *c = m->mColors[k] ? &m->mColors[k][v] : NULL;

            if (c != NULL &&
                !(isfinite(c->r) && isfinite(c->g) && isfinite(c->b) && isfinite(c->a)))
                *c = (struct aiColor4D){0, 0, 0, 1};
        }
        if (isfinite(p->x) && isfinite(p->y) && isfinite(p->z))
            continue;
        if (bad == NULL)
            bad = mf_xcalloc(m->mNumVertices, 1);
        bad[v] = 1;
        m->mVertices[v] = (struct aiVector3D){0, 0, 0};
    }
    if (bad == NULL)
        return 0;
    for (unsigned f = 0; f < m->mNumFaces; f++) {
        struct aiFace face = m->mFaces[f];
        int drop = 0;

        for (unsigned k = 0; k < face.mNumIndices; k++)
            drop |= face.mIndices[k] < m->mNumVertices && bad[face.mIndices[k]];
        if (drop) {
            dropped++;
            continue;
        }
        m->mFaces[f] = m->mFaces[kept]; /* swap: every index array stays owned once */
        m->mFaces[kept++] = face;
    }
    m->mNumFaces = kept;
    free(bad);
    return dropped;
}

/* 3MF thumbnails: 16 MB of PNG or JPEG, 16 megapixels (a package's preview is a few
 * hundred pixels wide). Fixed. */
#define MF__3MF_THUMB_MAX_BYTES (16u << 20)
#define MF__3MF_THUMB_MAX_PIXELS (16 * 1000 * 1000)

static void mf__warn(mf_result *res, const char *msg)
{
    json_t *w = json_object_get(res->meta, "warnings");

    if (!json_is_array(w)) {
        w = json_array();
        json_object_set_new(res->meta, "warnings", w);
    }
    json_array_append_new(w, json_string(msg));
}

/* thumb-3mf.png: the 3MF package's own thumbnail, when it has one. Only a PNG or JPEG is
 * taken, its size is read from its header before it is decoded, and it is written anew by
 * libvips, so the output is an image whatever the package held. A thumbnail that is not one
 * is a warning in meta, not a failed model. */
static int mf__3mf_thumb(mf_model_io *mio, const char *outdir, mf_result *res, mf_err *err)
{
    unsigned char *data = NULL;
    const char *loader, *why = NULL;
    VipsImage *img = NULL;
    void *png = NULL;
    size_t len = 0, png_len = 0;
    int rc = 0, got;

    got = mf_model_3mf_thumbnail(mio->mainfd, MF__3MF_THUMB_MAX_BYTES, &data, &len);
    if (got == 0)
        goto out;
    loader = got > 0 ? vips_foreign_find_load_buffer(data, len) : NULL;
    if (got < 0)
        why = "over 16 MB";
    else if (loader == NULL || (strcmp(loader, "VipsForeignLoadPngBuffer") != 0 &&
                                strcmp(loader, "VipsForeignLoadJpegBuffer") != 0))
        why = "not a PNG or JPEG";
    else if ((img = vips_image_new_from_buffer(data, len, "", NULL)) == NULL)
        why = "unreadable header";
    else if ((int64_t)vips_image_get_width(img) * vips_image_get_height(img) >
             MF__3MF_THUMB_MAX_PIXELS)
        why = "over 16 megapixels";
    else if (vips_pngsave_buffer(img, &png, &png_len, "compression", 6, NULL) != 0)
        why = "undecodable";
    vips_error_clear();
    if (why != NULL) {
        char msg[128];

        snprintf(msg, sizeof(msg), "the 3MF thumbnail was left out: %s", why);
        mf__warn(res, msg);
        goto out;
    }
    rc = mf_fs_write_atomic(outdir, "thumb-3mf.png", png, png_len, err);
    if (rc == 0)
        mf_result_add_output(res, "thumb-3mf.png");
out:
    g_free(png);
    if (img != NULL)
        g_object_unref(img);
    free(data);
    return rc;
}

static int mf__lods(const struct aiScene *s, const char *outdir, mf_result *res, mf_err *err)
{
    static const struct {
        const char *name;
        double ratio;
    } lods[] = {{"lod-1.glb", 0.5}, {"lod-2.glb", 0.1}};
    json_t *list = json_array();
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(lods) / sizeof(lods[0]); i++) {
        size_t tris = 0;
        double e = 0;

        rc = mf_model_lod(s, lods[i].ratio, outdir, lods[i].name, &tris, &e, err);
        if (rc == 0) {
            mf_result_add_output(res, lods[i].name);
            json_array_append_new(list, json_pack("{s:s,s:I,s:f}", "name", lods[i].name,
                                                  "triangles", (json_int_t)tris, "error", e));
        }
    }
    json_object_set_new(res->meta, "lods", list);
    return rc;
}

/* What the outputs must not carry, out of the imported scene: faces of non-finite vertices,
 * normals glTF forbids (repaired), texture files outside the rules (the others embedded).
 * Says what it did in meta (normals_repaired, warnings). */
static void mf__clean(const struct aiScene *s, mf_model_io *mio, mf_result *res)
{
    size_t repaired = 0, dropped = 0;
    char *textures;

    for (unsigned i = 0; i < s->mNumMeshes; i++) {
        dropped += mf__drop_nonfinite(s->mMeshes[i]);
        repaired += mf__repair_normals(s->mMeshes[i]);
    }
    if (dropped > 0) {
        char msg[128];

        snprintf(msg, sizeof(msg), "%zu faces with a non-finite vertex left out", dropped);
        mf__warn(res, msg);
    }
    json_object_set_new(res->meta, "normals_repaired", json_integer((json_int_t)repaired));
    textures = mf_model_embed_textures((struct aiScene *)s, &mio->io, MF_MODEL_MAX_TEXTURE_BYTES,
                                       MF_MODEL_MAX_TEXTURE_PIXELS);
    for (char *line = textures, *nl; line != NULL && *line != '\0'; line = nl) {
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        mf__warn(res, line);
    }
    free(textures);
}

static int mf__model_process(const mf_lane_job *job, mf_result *res, mf_err *err)
{
    const mf_model_format *f =
        job->mime ? mf_model_format_of(job->mime) : mf_model_format_by_ext(job->path);
    const struct aiScene *s = NULL;
    mf_model_io mio = {.dirfd = -1};
    mf_model_box box;
    char doubt[160];
    json_t *w;
    int rc = 0;

    if (f == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "%s is not a 3D format this lane reads",
                        job->mime ? job->mime : "(no type)");
        goto out;
    }
    rc = mf_model_check_header(job->fd, f, err);
    if (rc == 0)
        rc = mf__import(job, f, &mio, &s, err);
    if (rc < 0)
        goto out;
    mf__trim();
    json_decref(res->meta);
    res->meta = mf_model_meta(s, f);
    if (mf_model_tail_doubt(job->fd, f, doubt, sizeof(doubt)))
        mf__warn(res, doubt);
    /* the box from the file's finite vertices, before those that are not are moved */
    if (!mf_model_bounds(s, &box)) {
        rc = mf_err_set(err, MF_ECORRUPT, "the %s file has no finite vertex", f->name);
        goto out;
    }
    mf__clean(s, &mio, res);
    w = json_object_get(res->meta, "warnings");
    if (!json_is_array(w)) {
        w = json_array();
        json_object_set_new(res->meta, "warnings", w);
    }
    rc =
        mf_model_render_png(s, &box, f->z_up, MF__THUMB_SIZE, job->outdir, "thumb-512.png", w, err);
    if (json_array_size(w) == 0)
        json_object_del(res->meta, "warnings");
    if (rc == 0)
        mf_result_add_output(res, "thumb-512.png");
    mf__trim();
    if (rc == 0)
        rc = mf_model_export_glb(s, job->outdir, "model.glb", err);
    if (rc == 0)
        mf_result_add_output(res, "model.glb");
    mf__trim();
    if (rc == 0)
        rc = mf__lods(s, job->outdir, res, err);
    mf__trim();
    if (rc == 0)
        rc = mf_model_render_turntable(s, &box, f->z_up, MF__TURNTABLE_SIZE, MF__TURNTABLE_FRAMES,
                                       mf__turntable_animated, job->outdir, "turntable.webp", err);
    if (rc == 0)
        mf_result_add_output(res, "turntable.webp");
    if (rc == 0 && strcmp(f->ext, "3mf") == 0)
        rc = mf__3mf_thumb(&mio, job->outdir, res, err);
out:
    if (s != NULL)
        aiReleaseImport(s);
    mf_model_io_close(&mio);
    return rc;
}

const mf_lane mf_lane_model = {.name = "model",
                               .init = mf__model_init,
                               .process = mf__model_process,
                               .shutdown = mf__model_shutdown};
