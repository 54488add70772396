/* 3MF packages (see model.h): the thumbnail, and the package without it for assimp. Read with
 * minizip over the upload's fd: pread()
 * at our own offset, so the runtime's fd is neither moved nor closed, and no path is opened.
 * The part's size comes from the zip's central directory and is checked before anything is
 * inflated; at most that many bytes are then inflated, whatever the stream holds. */
#include <minizip/unzip.h>
#include <minizip/zip.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mf/alloc.h"
#include "model.h"

/* _rels/.rels: a few hundred bytes in practice. */
#define MF__RELS_MAX (1u << 20)

/* The read/write position of a minizip stream: the first member of both streams below (the
 * upload's file and the rewritten package in memory), so one tell and one seek serve both. */
typedef struct mf__zcursor {
    uint64_t pos, size;
} mf__zcursor;

typedef struct mf__zfile {
    mf__zcursor cur;
    int fd;
} mf__zfile;

static voidpf mf__zopen(voidpf opaque, const void *name, int mode)
{
    (void)name;
    return (mode & ZLIB_FILEFUNC_MODE_WRITE) ? NULL : opaque;
}

static uLong mf__zread(voidpf opaque, voidpf stream, void *buf, uLong size)
{
    mf__zfile *z = stream;
    ssize_t n = pread(z->fd, buf, size, (off_t)z->cur.pos);

    (void)opaque;
    if (n <= 0)
        return 0;
    z->cur.pos += (uint64_t)n;
    return (uLong)n;
}

static uLong mf__zwrite(voidpf opaque, voidpf stream, const void *buf, uLong size)
{
    (void)opaque;
    (void)stream;
    (void)buf;
    (void)size;
    return 0;
}

static ZPOS64_T mf__ztell(voidpf opaque, voidpf stream)
{
    (void)opaque;
    return ((mf__zcursor *)stream)->pos;
}

static long mf__zseek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
    mf__zcursor *c = stream;
    uint64_t base = origin == ZLIB_FILEFUNC_SEEK_SET   ? 0
                    : origin == ZLIB_FILEFUNC_SEEK_CUR ? c->pos
                                                       : c->size;

    (void)opaque;
    if (off > c->size || base + off > c->size)
        return -1;
    c->pos = base + off;
    return 0;
}

static int mf__zclose(voidpf opaque, voidpf stream)
{
    (void)opaque;
    (void)stream;
    return 0;
}

static int mf__zerror(voidpf opaque, voidpf stream)
{
    (void)opaque;
    (void)stream;
    return 0;
}

/* The member `name` (case-insensitive, as OPC part names are) whole: 1 with *out (malloc(),
 * NUL-terminated) and *len, 0 when absent or unreadable, -1 when over max bytes. */
static int mf__member(unzFile uf, const char *name, size_t max, unsigned char **out, size_t *len)
{
    unz_file_info64 info;
    unsigned char *buf = NULL;
    size_t got = 0;
    int rc = 0, n;

    if (unzLocateFile(uf, name, 2) != UNZ_OK ||
        unzGetCurrentFileInfo64(uf, &info, NULL, 0, NULL, 0, NULL, 0) != UNZ_OK)
        return 0;
    if (info.uncompressed_size > max)
        return -1;
    if (unzOpenCurrentFile(uf) != UNZ_OK)
        return 0;
    buf = mf_xmalloc((size_t)info.uncompressed_size + 1);
    while (got < info.uncompressed_size) {
        n = unzReadCurrentFile(uf, buf + got, (unsigned)(info.uncompressed_size - got));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* a CRC mismatch or a short stream is a broken part: none */
    if (unzCloseCurrentFile(uf) == UNZ_OK && got == info.uncompressed_size) {
        buf[got] = '\0';
        *out = buf;
        *len = got;
        buf = NULL;
        rc = 1;
    }
    free(buf);
    return rc;
}

/* Copies the Target of the thumbnail relationship in rels (without a leading '/') into
 * target; 0 when there is none. */
static int mf__thumb_target(const char *rels, char *target, size_t size)
{
    const char *at = rels;

    while ((at = strstr(at, "<Relationship")) != NULL) {
        const char *end = strchr(at, '>'), *t, *q;

        if (end == NULL)
            return 0;
        t = strstr(at, "Target=\"");
        if (memmem(at, (size_t)(end - at), "/metadata/thumbnail\"", 20) != NULL && t != NULL &&
            t < end) {
            t += 8;
            while (*t == '/')
                t++;
            q = strchr(t, '"');
            if (q == NULL || q > end || q == t || (size_t)(q - t) >= size)
                return 0;
            memcpy(target, t, (size_t)(q - t));
            target[q - t] = '\0';
            return 1;
        }
        at = end;
    }
    return 0;
}

int mf_model_3mf_thumbnail(int fd, size_t max, unsigned char **data, size_t *len)
{
    mf__zfile z = {.fd = fd};
    zlib_filefunc64_def def = {.zopen64_file = mf__zopen,
                               .zread_file = mf__zread,
                               .zwrite_file = mf__zwrite,
                               .ztell64_file = mf__ztell,
                               .zseek64_file = mf__zseek,
                               .zclose_file = mf__zclose,
                               .zerror_file = mf__zerror,
                               .opaque = &z};
    unsigned char *rels = NULL;
    char target[512];
    struct stat st;
    size_t rels_len = 0;
    unzFile uf = NULL;
    int rc = 0;

    *data = NULL;
    *len = 0;
    if (fstat(fd, &st) < 0)
        goto out;
    z.cur.size = (uint64_t)st.st_size;
    uf = unzOpen2_64("mf-upload.3mf", &def);
    if (uf == NULL)
        goto out;
    if (mf__member(uf, "_rels/.rels", MF__RELS_MAX, &rels, &rels_len) != 1 ||
        !mf__thumb_target((const char *)rels, target, sizeof(target)))
        goto out;
    rc = mf__member(uf, target, max, data, len);
out:
    if (uf != NULL)
        unzClose(uf);
    free(rels);
    return rc;
}

/* A zip written to memory: writes at any position (the writer goes back to patch headers). */
typedef struct mf__zmem {
    mf__zcursor cur;
    unsigned char *b;
    uint64_t cap;
} mf__zmem;

static uLong mf__mwrite(voidpf opaque, voidpf stream, const void *buf, uLong n)
{
    mf__zmem *m = stream;

    (void)opaque;
    if (m->cur.pos + n > m->cap) {
        m->cap = (m->cur.pos + n) * 2;
        m->b = mf_xrealloc(m->b, (size_t)m->cap);
    }
    memcpy(m->b + m->cur.pos, buf, n);
    m->cur.pos += n;
    if (m->cur.pos > m->cur.size)
        m->cur.size = m->cur.pos;
    return n;
}

static uLong mf__mread(voidpf opaque, voidpf stream, void *buf, uLong n)
{
    mf__zmem *m = stream;

    (void)opaque;
    if (m->cur.pos >= m->cur.size)
        return 0;
    if (n > m->cur.size - m->cur.pos)
        n = (uLong)(m->cur.size - m->cur.pos);
    memcpy(buf, m->b + m->cur.pos, n);
    m->cur.pos += n;
    return n;
}

static voidpf mf__mopen(voidpf opaque, const void *name, int mode)
{
    (void)name;
    (void)mode;
    return opaque;
}

/* What assimp 5.2's 3MF importer takes for an embedded texture (D3MFOpcPackage:
 * IsEmbeddedTexture): a .png or .jpg part with "thumbnail" in its name. Loading one frees its
 * data twice when the scene goes (assimp issue #5307): a SIGABRT on every 3MF a slicer wrote
 * with its preview. */
static int mf__is_thumbnail_part(const char *name)
{
    const char *dot = strrchr(name, '.');
    char ext[8] = {0};

    for (size_t i = 0; dot != NULL && dot[1 + i] != '\0' && i + 1 < sizeof(ext); i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    return dot != NULL && (strcmp(ext, "png") == 0 || strcmp(ext, "jpg") == 0) &&
           strstr(name, "thumbnail") != NULL;
}

/* Copies the current member of uf to zf as stored (compressed bytes, CRC and sizes
 * unchanged). Returns 0 or -1. */
static int mf__copy_raw(unzFile uf, zipFile zf, const char *name, const unz_file_info64 *info)
{
    zip_fileinfo zi = {.dosDate = info->dosDate,
                       .internal_fa = info->internal_fa,
                       .external_fa = info->external_fa};
    unsigned char buf[65536];
    int method = 0, level = 0, n, rc = -1;

    if (unzOpenCurrentFile2(uf, &method, &level, 1) != UNZ_OK)
        return -1;
    if (zipOpenNewFileInZip2_64(zf, name, &zi, NULL, 0, NULL, 0, NULL, method, level, 1,
                                info->uncompressed_size >= 0xffffffffu) != ZIP_OK)
        goto out;
    while ((n = unzReadCurrentFile(uf, buf, sizeof(buf))) > 0) {
        if (zipWriteInFileInZip(zf, buf, (unsigned)n) != ZIP_OK)
            break;
    }
    if (zipCloseFileInZipRaw64(zf, info->uncompressed_size, info->crc) == ZIP_OK && n == 0)
        rc = 0;
out:
    unzCloseCurrentFile(uf);
    return rc;
}

int mf_model_3mf_without_thumbnails(int fd, unsigned char **data, size_t *len)
{
    mf__zfile z = {.fd = fd};
    mf__zmem m = {0};
    zlib_filefunc64_def in = {mf__zopen, mf__zread,  mf__zwrite, mf__ztell,
                              mf__zseek, mf__zclose, mf__zerror, &z};
    zlib_filefunc64_def out = {mf__mopen, mf__mread,  mf__mwrite, mf__ztell,
                               mf__zseek, mf__zclose, mf__zerror, &m};
    unz_file_info64 info;
    char name[1024];
    struct stat st;
    unzFile uf = NULL;
    zipFile zf = NULL;
    int rc = 0, dropped = 0, more;

    *data = NULL;
    *len = 0;
    if (fstat(fd, &st) < 0)
        goto out;
    z.cur.size = (uint64_t)st.st_size;
    uf = unzOpen2_64("mf-upload.3mf", &in);
    if (uf == NULL)
        goto out; /* not a zip: the importer says so itself */
    for (more = unzGoToFirstFile(uf) == UNZ_OK; more; more = unzGoToNextFile(uf) == UNZ_OK) {
        if (unzGetCurrentFileInfo64(uf, &info, name, sizeof(name), NULL, 0, NULL, 0) != UNZ_OK)
            goto out;
        dropped |= mf__is_thumbnail_part(name);
    }
    if (!dropped)
        goto out;
    zf = zipOpen2_64("mf-upload.3mf", APPEND_STATUS_CREATE, NULL, &out);
    if (zf == NULL)
        goto out;
    for (more = unzGoToFirstFile(uf) == UNZ_OK; more; more = unzGoToNextFile(uf) == UNZ_OK) {
        if (unzGetCurrentFileInfo64(uf, &info, name, sizeof(name), NULL, 0, NULL, 0) != UNZ_OK)
            goto out;
        if (!mf__is_thumbnail_part(name) && mf__copy_raw(uf, zf, name, &info) < 0)
            goto out;
    }
    rc = zipClose(zf, NULL) == ZIP_OK ? 1 : 0;
    zf = NULL;
    if (rc == 1) {
        *data = m.b;
        *len = (size_t)m.cur.size;
        m.b = NULL;
    }
out:
    if (zf != NULL)
        zipClose(zf, NULL);
    if (uf != NULL)
        unzClose(uf);
    free(m.b);
    return rc;
}
