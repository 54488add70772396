/* GET /files/<id>/<output>: an output of a record, for a browser or a CDN in front.
 *
 * No path from the request reaches the file system unchecked: the id must look like an id,
 * the name must be a plain relative path (no "." or ".." component, no empty one, no
 * control byte: MHD's unescaping turns %00 into one, see http.c), and "<id>/<name>" must be
 * listed in the record's outputs. The file is then opened one component at a time beneath
 * the outbox with O_NOFOLLOW, so a symlink planted in the outbox is refused too (404).
 *
 * Outputs are written once under a temporary name and renamed (never modified in place), so
 * size + mtime + inode make a strong ETag. Range: one range (bytes=a-b, a-, -n); a request
 * for several is answered whole (RFC 9110 allows it). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "mf/id.h"
#include "mf/limits.h"

#define MF__CACHE_CONTROL "public, max-age=86400"

static const char *const mf__types[][2] = {{".webp", "image/webp"},
                                           {".jpg", "image/jpeg"},
                                           {".jpeg", "image/jpeg"},
                                           {".png", "image/png"},
                                           {".avif", "image/avif"},
                                           {".gif", "image/gif"},
                                           {".mp4", "video/mp4"},
                                           {".m4a", "audio/mp4"},
                                           {".webm", "video/webm"},
                                           {".vtt", "text/vtt"},
                                           {".txt", "text/plain; charset=utf-8"},
                                           {".json", "application/json"},
                                           {".pdf", "application/pdf"},
                                           {".glb", "model/gltf-binary"},
                                           {".svg", "image/svg+xml"}};

static const char *mf__type(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(mf__types) / sizeof(mf__types[0]); i++) {
        if (strcasecmp(dot, mf__types[i][0]) == 0)
            return mf__types[i][1];
    }
    return "application/octet-stream";
}

/* 1 when name is a plain relative path: components neither empty, "." nor "..", no byte
 * below 0x20 nor DEL. */
int mf_gw_plain_path(const char *name)
{
    const char *p = name;

    if (*name == '\0' || strlen(name) >= MF_PATH_MAX)
        return 0;
    for (const char *q = name; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '\\')
            return 0;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/')
            p++;
        if (*p == '\0' && p[-1] == '/')
            return 0;
    }
    return 1;
}

/* Opens rel beneath dirfd without following any symlink; -errno on failure. With mkdirs,
 * every component is made a folder first when missing (rel then names a folder). */
int mf_gw_open_beneath(int dirfd, const char *rel, int flags, mode_t mode, int mkdirs)
{
    char comp[MF_PATH_MAX];
    const char *p = rel;
    int fd = dup(dirfd), next;

    if (fd < 0)
        return -errno;
    for (;;) {
        size_t n = strcspn(p, "/");

        memcpy(comp, p, n);
        comp[n] = '\0';
        if (p[n] == '\0') {
            if (mkdirs && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
                next = -errno;
                close(fd);
                return next;
            }
            next = openat(fd, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
            next = next < 0 ? -errno : next;
            close(fd);
            return next;
        }
        if (mkdirs && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            next = -errno;
            close(fd);
            return next;
        }
        next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            next = -errno;
            close(fd);
            return next;
        }
        close(fd);
        fd = next;
        p += n + 1;
    }
}

static int mf__listed(const json_t *rec, const char *want)
{
    size_t i;
    const json_t *o;

    json_array_foreach(json_object_get(rec, "outputs"), i, o)
    {
        if (json_is_string(o) && strcmp(json_string_value(o), want) == 0)
            return 1;
    }
    return 0;
}

/* Parses one "bytes=" range against size: 1 with [*from, *to], 0 to answer whole (absent,
 * several, not bytes), -1 unsatisfiable. */
static int mf__range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
    char *end;
    long long a, b;

    if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
        return 0;
    h += 6;
    if (*h == '-') {
        b = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end != '\0' || b < 0)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return 1;
    }
    a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return 0;
    h = end + 1;
    if (*h == '\0') {
        b = size - 1;
    } else {
        b = strtoll(h, &end, 10);
        if (*end != '\0' || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

static enum MHD_Result mf__send(struct MHD_Connection *c, mf_gw_req *rq, int fd,
                                const struct stat *st, const char *name)
{
    char etag[96], crange[96];
    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    struct MHD_Response *r;
    int64_t from = 0, to = st->st_size - 1;
    unsigned status = MHD_HTTP_OK;
    int k;

    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_size,
             (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec,
             (uint64_t)st->st_ino);
    if (inm != NULL && (strstr(inm, etag) != NULL || strcmp(inm, "*") == 0)) {
        close(fd);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_MODIFIED;
        goto headers;
    }
    k = mf__range(range, st->st_size, &from, &to);
    if (k < 0) {
        close(fd);
        snprintf(crange, sizeof(crange), "bytes */%" PRId64, (int64_t)st->st_size);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        return mf_gw_queue(c, rq, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
    }
    if (k > 0) {
        status = MHD_HTTP_PARTIAL_CONTENT;
        snprintf(crange, sizeof(crange), "bytes %" PRId64 "-%" PRId64 "/%" PRId64, from, to,
                 (int64_t)st->st_size);
    }
    /* the fd is closed by MHD with the response; sendfile(2) where it can */
    r = MHD_create_response_from_fd_at_offset64((uint64_t)(to - from + 1), fd, (uint64_t)from);
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    rq->bytes = (uint64_t)(to - from + 1);
    if (k > 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mf__type(name));
headers:
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, MF__CACHE_CONTROL);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    return mf_gw_queue(c, rq, status, r);
}

enum MHD_Result mf_gw_output(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *rest)
{
    const char *slash = strchr(rest, '/');
    char id[MF_ID_LEN];
    json_t *rec = NULL;
    struct stat st;
    mf_err err;
    enum MHD_Result ret;
    int rc, fd = -1;

    if (slash == NULL || (size_t)(slash - rest) != MF_ID_LEN - 1)
        return mf_gw_reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "expected /files/<id>/<output>");
    memcpy(id, rest, MF_ID_LEN - 1);
    id[MF_ID_LEN - 1] = '\0';
    if (!mf_id_valid(id) || !mf_gw_plain_path(slash + 1))
        return mf_gw_reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "not an output path");
    rc = mf_gw_record(g, id, &rec, &err);
    if (rc == -ENOENT)
        return mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "no record %s", id);
    if (rc < 0)
        return mf_gw_reply_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
    if (!mf__listed(rec, rest)) {
        ret = mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "not an output of %s", id);
        goto out;
    }
    fd = mf_gw_open_beneath(g->outbox_fd, rest, O_RDONLY, 0, 0);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ret = mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "output not readable: %s",
                                fd < 0 ? strerror(-fd) : "not a regular file");
        if (fd >= 0)
            close(fd);
        goto out;
    }
    ret = mf__send(c, rq, fd, &st, rest);
out:
    json_decref(rec);
    return ret;
}
