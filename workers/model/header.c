/* Limits from the header, before assimp reads the model: a file that declares more than its
 * bytes can hold (a PLY or OFF with billions of elements, a GLB whose length is not the
 * file's) is corrupt or a bomb, and assimp would allocate for the declared counts first
 * (std::bad_alloc at best). Declared triangles over MF_MODEL_MAX_TRIANGLES fail as over a
 * limit. Formats without counts in a header (OBJ, ASCII STL, FBX, COLLADA, 3DS, 3MF, glTF
 * JSON) are held by the executor's memory cap and wall clock. An STL cut short fails here:
 * assimp would import the triangles before the cut (ASCII) or name neither cause (binary). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "mf/alloc.h"
#include "model.h"

#define MF__HEAD_MAX 65536

static int mf__head(int fd, char *buf, size_t cap, size_t *len)
{
    ssize_t n;

    do {
        n = pread(fd, buf, cap - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    *len = (size_t)n;
    return 0;
}

/* Lines with something on them in the file from byte off on, up to at most want. */
static double mf__lines_from(int fd, int64_t off, double want)
{
    char buf[65536];
    double lines = 0;
    int filled = 0; /* the current line has something on it */
    ssize_t n;

    while (lines < want) {
        do {
            n = pread(fd, buf, sizeof(buf), (off_t)off);
        } while (n < 0 && errno == EINTR);
        if (n <= 0)
            break;
        off += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                lines += filled;
                filled = 0;
            } else if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r') {
                filled = 1;
            }
        }
    }
    return lines + filled;
}

/* PLY: every element's count x its properties, at least one byte each in binary and two in
 * ASCII ("0 "), must fit in the bytes after end_header. An ASCII PLY has a line per element:
 * one cut short has fewer, and assimp then makes triangles of whatever it finds (7410 of a
 * 494-face model) or aborts the process (an assertion in its triangulation). */
static int mf__ply(int fd, const char *h, size_t len, int64_t size, mf_err *err)
{
    const char *end = strstr(h, "end_header");
    double need = 0, count = 0, faces = 0, elems = 0, lines;
    char last[1];
    int ascii = strstr(h, "format ascii") != NULL, props = 0, is_face = 0;
    const char *p = h;

    if (end == NULL)
        return len + 1 >= MF__HEAD_MAX
                   ? mf_err_set(err, MF_ELIMIT, "PLY header longer than %d bytes", MF__HEAD_MAX)
                   : 0; /* assimp will say what is wrong */
    while (p < end) {
        unsigned long long c;
        char name[64];

        if (sscanf(p, "element %63s %llu", name, &c) == 2) {
            need += count * (props > 0 ? props : 1) * (ascii ? 2 : 1);
            faces += is_face ? count : 0;
            count = (double)c;
            elems += count;
            props = 0;
            is_face = strcmp(name, "face") == 0;
        } else if (strncmp(p, "property ", 9) == 0) {
            props++;
        }
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    need += count * (props > 0 ? props : 1) * (ascii ? 2 : 1);
    faces += is_face ? count : 0;
    if (need > (double)size)
        return mf_err_set(err, MF_ECORRUPT,
                          "PLY header declares %.0f values, more than the file's %lld bytes hold",
                          need, (long long)size);
    if (faces > MF_MODEL_MAX_TRIANGLES)
        return mf_err_set(err, MF_ELIMIT, "PLY header declares %.0f faces, over the limit of %d",
                          faces, MF_MODEL_MAX_TRIANGLES);
    p = strchr(end, '\n');
    if (!ascii || p == NULL)
        return 0;
    lines = mf__lines_from(fd, (int64_t)(p + 1 - h), elems);
    if (lines < elems)
        return mf_err_set(err, MF_ECORRUPT,
                          "ASCII PLY header declares %.0f elements, a line each, the file has "
                          "%.0f lines after its header: it is cut short",
                          elems, lines);
    /* cut within its last line, the last face would point at a vertex the cut made up */
    if (pread(fd, last, 1, (off_t)(size - 1)) == 1 && strchr(" \t\r\n", last[0]) == NULL)
        return mf_err_set(err, MF_ECORRUPT,
                          "ASCII PLY's last line does not end: the file is cut short");
    return 0;
}

/* OFF: "vertices faces edges"; at least 6 bytes a vertex ("0 0 0\n") and 8 a face. */
static int mf__off(const char *h, int64_t size, mf_err *err)
{
    unsigned long long v = 0, f = 0;
    const char *p = h;

    while (*p == '#' || strncmp(p, "OFF", 3) == 0 || strchr("STCN4n", *p) != NULL) {
        if (sscanf(p, "%*[STCN4n]OFF %llu %llu", &v, &f) == 2 ||
            sscanf(p, "OFF %llu %llu", &v, &f) == 2)
            break;
        p = strchr(p, '\n');
        if (p == NULL)
            return 0;
        p++;
        if (sscanf(p, "%llu %llu", &v, &f) == 2)
            break;
    }
    if ((double)v * 6 + (double)f * 8 > (double)size)
        return mf_err_set(err, MF_ECORRUPT,
                          "OFF header declares %llu vertices and %llu faces, more than the "
                          "file's %lld bytes hold",
                          v, f, (long long)size);
    if (f > MF_MODEL_MAX_TRIANGLES)
        return mf_err_set(err, MF_ELIMIT, "OFF header declares %llu faces, over the limit of %d", f,
                          MF_MODEL_MAX_TRIANGLES);
    return 0;
}

static uint32_t mf__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytes at the end of an ASCII STL searched for its last line. */
#define MF__STL_TAIL 1024

/* An ASCII STL as assimp takes one: "solid" after leading blanks, and (our addition, so a
 * binary STL whose 80-byte header starts with "solid" is not mistaken for text) no byte
 * outside 7-bit text in the head. */
static int mf__stl_ascii(const unsigned char *u, size_t len)
{
    size_t i = 0;

    while (i < len && (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n'))
        i++;
    if (len - i < 5 || memcmp(u + i, "solid", 5) != 0)
        return 0;
    for (i = 0; i < len && i < 500; i++)
        if (u[i] == 0 || u[i] > 127)
            return 0;
    return 1;
}

/* STL, told apart as assimp does: binary when the file is exactly 84 + 50 bytes per triangle
 * its header declares, else ASCII. A binary STL of another size is cut short (or padded), and
 * assimp's answer names neither. An ASCII STL ends with "endsolid": one cut short ends
 * mid-facet, and assimp imports the triangles before the cut as if they were the model. */
static int mf__stl(int fd, const unsigned char *u, size_t len, int64_t size, mf_err *err)
{
    unsigned char tail[MF__STL_TAIL + 1];
    uint64_t n = len >= 84 ? mf__le32(u + 80) : 0;
    size_t t;
    ssize_t got;

    if (len >= 84 && (uint64_t)size == 84 + 50 * n)
        return n > MF_MODEL_MAX_TRIANGLES
                   ? mf_err_set(err, MF_ELIMIT,
                                "STL header declares %llu triangles, over the limit of %d",
                                (unsigned long long)n, MF_MODEL_MAX_TRIANGLES)
                   : 0;
    if (!mf__stl_ascii(u, len)) {
        if (len < 84)
            return mf_err_set(err, MF_ECORRUPT,
                              "STL of %lld bytes: not text, and shorter than a binary STL's "
                              "84-byte header",
                              (long long)size);
        if (n > MF_MODEL_MAX_TRIANGLES)
            return mf_err_set(err, MF_ELIMIT,
                              "STL header declares %llu triangles, over the limit of %d",
                              (unsigned long long)n, MF_MODEL_MAX_TRIANGLES);
        return mf_err_set(err, MF_ECORRUPT,
                          "binary STL header declares %llu triangles (%llu bytes), the file has "
                          "%lld bytes (%s)",
                          (unsigned long long)n, (unsigned long long)(84 + 50 * n), (long long)size,
                          (uint64_t)size < 84 + 50 * n ? "cut short" : "bytes after the triangles");
    }
    t = size < MF__STL_TAIL ? (size_t)size : MF__STL_TAIL;
    do {
        got = pread(fd, tail, t, (off_t)(size - (int64_t)t));
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)t)
        return mf_err_sys(err, got < 0 ? -errno : -EIO, "read() of the STL's last bytes");
    /* trailing blanks, NULs and a DOS end-of-file mark are no content */
    while (t > 0 && strchr(" \t\r\n\x1a", tail[t - 1]) != NULL)
        t--;
    tail[t] = '\0';
    while (t > 0 && tail[t - 1] != '\n' && tail[t - 1] != '\r')
        t--;
    while (tail[t] == ' ' || tail[t] == '\t')
        t++;
    if (strncmp((const char *)tail + t, "endsolid", 8) != 0)
        return mf_err_set(err, MF_ECORRUPT,
                          "ASCII STL ends without \"endsolid\", on \"%.40s\": the file is cut "
                          "short",
                          (const char *)tail + t);
    return 0;
}

/* A zip (3MF, ZAE) ends with its central directory: the end record (PK 5 6) within the last
 * 22 bytes + a comment of at most 64 KB. Without it the package is cut short, and assimp says
 * only "Failed to open file". */
static int mf__zip_end(int fd, int64_t size, const char *what, mf_err *err)
{
    size_t t = size < 65557 ? (size_t)size : 65557;
    unsigned char *b = mf_xmalloc(t > 0 ? t : 1);
    ssize_t got;
    int found = 0;

    do {
        got = pread(fd, b, t, (off_t)(size - (int64_t)t));
    } while (got < 0 && errno == EINTR);
    for (ssize_t i = got - 22; i >= 0 && !found; i--)
        found = b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 5 && b[i + 3] == 6;
    free(b);
    if (got != (ssize_t)t || found)
        return 0;
    return mf_err_set(err, MF_ECORRUPT,
                      "%s package (a zip) has no central directory at its end: the file is cut "
                      "short",
                      what);
}

/* glTF: the node graph's depth, iteratively (a chain 20,000 deep overflows the stack of
 * recursive walkers, assimp's importer among them). A node reached twice counts once; a
 * cycle is corrupt. */
static int mf__gltf_depth(const char *json, size_t len, mf_err *err)
{
    json_t *doc = json_loadb(json, len, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *nodes = json_object_get(doc, "nodes");
    size_t n = json_array_size(nodes), *depth = NULL, *stack = NULL, sp = 0;
    int rc = 0;

    if (doc == NULL || n == 0)
        goto out; /* assimp will say what is wrong */
    depth = mf_xcalloc(n, sizeof(*depth));
    stack = mf_xmalloc(n * sizeof(*stack));
    /* depth[i] = 1 + the depth of the parent that reached it first; roots are the nodes no
     * one lists as a child */
    for (size_t i = 0; i < n; i++) {
        json_t *kids = json_object_get(json_array_get(nodes, i), "children");

        for (size_t k = 0; k < json_array_size(kids); k++) {
            json_int_t c = json_integer_value(json_array_get(kids, k));

            if (c >= 0 && (size_t)c < n)
                depth[c] = (size_t)-1; /* has a parent */
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (depth[i] != 0)
            continue;
        depth[i] = 1;
        stack[sp++] = i;
        while (sp > 0 && rc == 0) {
            size_t cur = stack[--sp];
            json_t *kids = json_object_get(json_array_get(nodes, cur), "children");

            if (depth[cur] > MF_MODEL_MAX_DEPTH) {
                rc = mf_err_set(err, MF_ELIMIT, "glTF node hierarchy deeper than %d levels",
                                MF_MODEL_MAX_DEPTH);
                break;
            }
            for (size_t k = 0; k < json_array_size(kids) && sp < n; k++) {
                json_int_t c = json_integer_value(json_array_get(kids, k));

                if (c < 0 || (size_t)c >= n || depth[c] != (size_t)-1)
                    continue;
                depth[c] = depth[cur] + 1;
                stack[sp++] = (size_t)c;
            }
        }
    }
out:
    free(stack);
    free(depth);
    json_decref(doc);
    return rc;
}

/* The JSON of a glTF (the whole file) or GLB (its first chunk), read whole: the node graph
 * is in it. At most 64 MB (glTF JSON that large is itself a bomb). */
static int mf__gltf(int fd, const struct stat *st, int glb, const unsigned char *u, size_t len,
                    mf_err *err)
{
    size_t off = 0, n = (size_t)st->st_size;
    char *buf;
    ssize_t got;
    int rc;

    if (glb) {
        if (len < 20)
            return 0;
        off = 20;
        n = mf__le32(u + 12);
    }
    if (n > (size_t)64 << 20 || off + n > (size_t)st->st_size)
        return mf_err_set(err, MF_ELIMIT, "glTF JSON of %zu bytes, over 64 MB or the file", n);
    buf = mf_xmalloc(n + 1);
    do {
        got = pread(fd, buf, n, (off_t)off);
    } while (got < 0 && errno == EINTR);
    rc = got == (ssize_t)n ? mf__gltf_depth(buf, n, err) : 0;
    free(buf);
    return rc;
}

int mf_model_check_header(int fd, const mf_model_format *f, mf_err *err)
{
    char *h = malloc(MF__HEAD_MAX);
    const unsigned char *u = (const unsigned char *)h;
    struct stat st;
    size_t len = 0;
    int rc = 0;

    if (h == NULL)
        abort();
    if (fstat(fd, &st) < 0 || mf__head(fd, h, MF__HEAD_MAX, &len) < 0) {
        rc = mf_err_sys(err, -errno, "read() of the model's header");
        goto out;
    }
    if (strcmp(f->ext, "ply") == 0)
        rc = mf__ply(fd, h, len, st.st_size, err);
    else if (strcmp(f->ext, "off") == 0)
        rc = mf__off(h, st.st_size, err);
    else if (strcmp(f->ext, "gltf") == 0)
        rc = mf__gltf(fd, &st, 0, u, len, err);
    /* glTF 1.0 binaries (KHR_binary_glTF) are version 1: their importer is not enabled */
    else if (strcmp(f->ext, "glb") == 0 && len >= 12 && mf__le32(u + 4) != 2)
        rc = mf_err_set(err, MF_EUNSUPPORTED, "GLB version %u: only glTF 2.0 binaries are read",
                        mf__le32(u + 4));
    else if (strcmp(f->ext, "glb") == 0 && len >= 12 && mf__le32(u + 8) != (uint64_t)st.st_size)
        rc =
            mf_err_set(err, MF_ECORRUPT, "GLB header says %u bytes, the file has %lld (truncated?)",
                       mf__le32(u + 8), (long long)st.st_size);
    else if (strcmp(f->ext, "stl") == 0)
        rc = mf__stl(fd, u, len, st.st_size, err);
    else if (strcmp(f->ext, "3mf") == 0 || strcmp(f->ext, "zae") == 0)
        rc = mf__zip_end(fd, st.st_size, strcmp(f->ext, "3mf") == 0 ? "3MF" : "ZAE", err);
out:
    free(h);
    return rc;
}

int mf_model_tail_doubt(int fd, const mf_model_format *f, char *buf, size_t size)
{
    struct stat st;
    char last;

    if (strcmp(f->ext, "obj") != 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
        pread(fd, &last, 1, (off_t)(st.st_size - 1)) != 1 || strchr(" \t\r\n", last) != NULL)
        return 0;
    snprintf(buf, size,
             "the OBJ file's last line does not end: it may be cut short, and the model is what "
             "was read up to there");
    return 1;
}
