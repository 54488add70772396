/* The 3D-model lane: internals shared by its files (mf__/mf_model_ names). Everything runs in
 * mf-exec-model, one job at a time, on one thread. */
#ifndef MF_MODEL_H
#define MF_MODEL_H

#include <assimp/cfileio.h>
#include <assimp/scene.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "mf/lane.h"

extern const mf_lane mf_lane_model;

/* Triangles a model may declare in its header (PLY, OFF, binary STL): 20 million is about
 * 1 GB of assimp's scene (vertices, normals, faces) and beyond what a thumbnail or a web GLB
 * is for. Fixed. */
#define MF_MODEL_MAX_TRIANGLES 20000000
/* Node hierarchy depth a glTF may declare: importers and exporters walk it recursively, and a
 * chain 20,000 deep overflows their stack (a crash, not an error). Real scenes stay under 50.
 * Fixed. */
#define MF_MODEL_MAX_DEPTH 256

/* Texture files a model refers to (embedded in model.glb): 64 MB and 64 megapixels
 * (8192 x 8192), the most a web viewer is given; declared pixels are read from the PNG or
 * JPEG header before anything decodes it. Fixed. */
#define MF_MODEL_MAX_TEXTURE_BYTES ((size_t)64 << 20)
#define MF_MODEL_MAX_TEXTURE_PIXELS (64ULL * 1000 * 1000)

/* A format the lane takes: the dispatcher's MIME type (dispatcher/sniff3d.c), the extension
 * of the virtual name assimp sees, the name in meta.format, whether +Z is up by the format's
 * convention and assimp leaves it so (STL, OFF, 3MF; 3DS is turned by the importer), and the
 * one assimp importer (aiImporterDesc.mName) allowed to read it. NULL for a MIME type the lane
 * does not take. */
typedef struct mf_model_format {
    const char *mime;
    const char *ext;
    const char *name;
    int z_up;
    const char *importer;
} mf_model_format;
const mf_model_format *mf_model_format_of(const char *mime);
/* One-shot mode, which has no MIME type: the format by the file's extension. */
const mf_model_format *mf_model_format_by_ext(const char *path);

/* The jailed file system given to assimp (modelio.c). The upload is opened through the
 * virtual name `main_name` (its extension picks the importer); any other name is opened
 * beneath the upload's folder with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): no "..",
 * no absolute path, no symlink, regular files only. Only reading. */
typedef struct mf_model_io {
    struct aiFileIO io;
    int dirfd;                     /* the upload's folder (O_PATH) */
    int mainfd;                    /* the upload, the runtime's fd (not closed here) */
    const unsigned char *main_mem; /* when set, the upload's bytes as assimp is to see them */
    size_t main_len;
    char main_name[32]; /* "mf-upload.<ext>" */
    char missing[256];  /* first referenced file that does not exist (yet) */
    char refused[256];  /* first reference refused (outside the folder, a link, not a file) */
} mf_model_io;

/* path: the upload's absolute path; fd: the upload opened by the runtime. Returns 0 or an
 * error (the folder cannot be opened). */
int mf_model_io_init(mf_model_io *mio, const char *path, int fd, const char *ext, mf_err *err);
void mf_model_io_close(mf_model_io *mio);

/* The 3MF package's thumbnail (modelzip.c): the part its _rels/.rels names with the
 * relationship type .../metadata/thumbnail, read from the upload (fd) with minizip, its size
 * checked in the zip directory before a byte is inflated. Returns 1 with *data (malloc(), *len
 * bytes: the part as stored, not yet known to be an image), 0 when the package has none (or
 * is no zip), -1 when the part is over max bytes. */
int mf_model_3mf_thumbnail(int fd, size_t max, unsigned char **data, size_t *len);

/* The 3MF package (fd) rewritten without its thumbnail parts (copied as stored, the rest
 * untouched), for assimp 5.2, whose importer crashes on them (modelzip.c). Returns 1 with
 * *data (malloc(), *len bytes), 0 when there is nothing to drop or the file is no zip (the
 * importer reads it as it is). */
int mf_model_3mf_without_thumbnails(int fd, unsigned char **data, size_t *len);

/* Limits from the header of the upload (fd), before assimp reads it (header.c). Returns 0,
 * MF_ECORRUPT (declares more than the file holds) or MF_ELIMIT. */
int mf_model_check_header(int fd, const mf_model_format *f, mf_err *err);
/* A doubt about an OBJ's end, for meta.warnings: an OBJ declares nothing a cut could break, but
 * its writers end every line, so a last line without its end is most likely a file cut short
 * (read as far as it goes). Returns 1 with the warning in buf, or 0. */
int mf_model_tail_doubt(int fd, const mf_model_format *f, char *buf, size_t size);

/* World-space bounding box of the scene's meshes (node transforms applied). Returns 0 when
 * the scene has no vertex. */
typedef struct mf_model_box {
    double min[3], max[3];
    size_t nonfinite; /* vertices with a NaN or infinite coordinate (left out) */
} mf_model_box;
int mf_model_bounds(const struct aiScene *s, mf_model_box *box);

/* meta of a scene as imported (before the lane's own post-processing). */
json_t *mf_model_meta(const struct aiScene *s, const mf_model_format *f);
/* Triangles in the scene. */
size_t mf_model_triangles(const struct aiScene *s);

/* The scene as a glTF 2.0 binary (assimp's glb2 exporter) in outdir/name. */
int mf_model_export_glb(const struct aiScene *s, const char *outdir, const char *name, mf_err *err);
/* A copy of s simplified by meshoptimizer to about ratio of its triangles (vertex cache
 * optimised), written as a GLB to outdir/name; *tris the triangles kept, *error
 * meshoptimizer's relative error. */
int mf_model_lod(const struct aiScene *s, double ratio, const char *outdir, const char *name,
                 size_t *tris, double *error, mf_err *err);

/* Renders the scene shaded and textured (diffuse / base colour), framed from its bounding box,
 * +Z turned up when z_up, into a size x size PNG outdir/name (EGL surfaceless, OpenGL ES 2;
 * the context is made on first use in this process, after the executor's fork). A texture
 * that does not decode is drawn without, and said in the JSON array warnings (when not NULL). */
int mf_model_render_png(const struct aiScene *s, const mf_model_box *box, int z_up, int size,
                        const char *outdir, const char *name, json_t *warnings, mf_err *err);
/* turntable.webp: frames views of size x size turning once about the up axis, as an animated
 * WebP (animated) or one still strip of the frames stacked top to bottom. */
int mf_model_render_turntable(const struct aiScene *s, const mf_model_box *box, int z_up, int size,
                              int frames, int animated, const char *outdir, const char *name,
                              mf_err *err);
/* Releases the EGL context (lane shutdown). */
void mf_model_render_close(void);

#endif
