/* Uploads: PUT /api/upload/<rel>?profile=<name> (the body is the file) and POST /api/upload
 * (multipart/form-data: optional fields "profile" and "path" before the "file" part, as the
 * status page's form sends them).
 *
 * The body is written as it arrives (libmicrohttpd hands it over in pieces of at most its
 * per-connection buffer, MF_GW_CONN_MEMORY) to a temporary name in the target folder of the
 * inbox, ".mf-upload-<random>.part", which the dispatcher ignores (a name starting with '.'),
 * and renamed to its name once complete, so the dispatcher records it like any upload that
 * arrives by rename. Memory stays constant whatever the size. A profile other than default
 * puts the file under the inbox folder named like it (inbox/ocr/<rel>), which is how the
 * dispatcher selects a profile.
 *
 * Refused: 400 for a path the dispatcher would not record (mf_path_acceptable: empty, "." or
 * "..", a hidden or temporary name), a control byte, or an unknown profile; 413 above
 * max_input_bytes (from Content-Length before the body is read, else when the body passes
 * it: the rest is read and dropped, the temporary file removed). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "gw.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/pathrule.h"

#define MF__PROFILE_MAX 64
#define MF__POST_BUFFER 65536
#define MF__FORM_SLACK 65536 /* multipart headers and boundaries around the file */

int mf_gw_plain_path(const char *name);
int mf_gw_open_beneath(int dirfd, const char *rel, int flags, mode_t mode, int mkdirs);

struct mf_gw_upload_state {
    mf_gw *g;
    struct MHD_PostProcessor *pp; /* POST only */
    int dirfd;                    /* folder of the target */
    int fd;                       /* the temporary file */
    char tmp[48];
    char rel[MF_PATH_MAX]; /* relative to the inbox, profile folder included */
    char profile[MF__PROFILE_MAX];
    char form_path[MF_PATH_MAX];
    size_t form_path_len, profile_len;
    int64_t written;
    int files;            /* file parts seen (POST) */
    unsigned fail_status; /* 0, or the error reply once the body is consumed */
    char fail_msg[MF_PATH_MAX + 128];
};

static void mf__fail(mf_gw_upload_state *up, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mf__fail(mf_gw_upload_state *up, unsigned status, const char *fmt, ...)
{
    va_list ap;

    if (up->fail_status != 0)
        return;
    up->fail_status = status;
    va_start(ap, fmt);
    vsnprintf(up->fail_msg, sizeof(up->fail_msg), fmt, ap);
    va_end(ap);
    if (up->fd >= 0) {
        close(up->fd);
        up->fd = -1;
        unlinkat(up->dirfd, up->tmp, 0);
    }
}

void mf_gw_upload_free(mf_gw_upload_state *up)
{
    if (up == NULL)
        return;
    if (up->pp != NULL)
        MHD_destroy_post_processor(up->pp);
    if (up->fd >= 0) {
        close(up->fd);
        unlinkat(up->dirfd, up->tmp, 0); /* a connection that broke off mid-body */
    }
    if (up->dirfd >= 0)
        close(up->dirfd);
    free(up);
}

/* 1 when name is "default" or one of the space-separated configured profiles. */
static int mf__profile_known(const char *profiles, const char *name)
{
    size_t n = strlen(name);

    if (strcmp(name, "default") == 0)
        return 1;
    for (const char *p = profiles; *p != '\0';) {
        size_t k;
        p += strspn(p, " ");
        k = strcspn(p, " ");
        if (k == n && n > 0 && strncmp(p, name, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* Validates rel and the profile, opens the target folder (created as needed, no symlink
 * followed) and the temporary file. On failure sets fail_status. */
static void mf__begin(mf_gw_upload_state *up, const char *rel)
{
    const mf_config *cfg = up->g->cfg;
    const char *profile = up->profile[0] != '\0' ? up->profile : "default";
    char dir[MF_PATH_MAX], *slash;
    unsigned char rnd[8];
    int n;

    if (!mf_gw_plain_path(rel) || !mf_path_acceptable(rel)) {
        mf__fail(up, MHD_HTTP_BAD_REQUEST,
                 "bad path '%s': a relative path of plain names (no '.' or '..', no "
                 "hidden or temporary name) is required",
                 rel);
        return;
    }
    if (!mf__profile_known(cfg->profiles, profile)) {
        mf__fail(up, MHD_HTTP_BAD_REQUEST, "unknown profile '%s'", profile);
        return;
    }
    if (strcmp(profile, "default") == 0)
        n = snprintf(up->rel, sizeof(up->rel), "%s", rel);
    else
        n = snprintf(up->rel, sizeof(up->rel), "%s/%s", profile, rel);
    if (n < 0 || (size_t)n >= sizeof(up->rel) || !mf_path_acceptable(up->rel)) {
        mf__fail(up, MHD_HTTP_BAD_REQUEST, "bad path '%s': too long", rel);
        return;
    }
    snprintf(dir, sizeof(dir), "%s", up->rel);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        up->dirfd = mf_gw_open_beneath(up->g->inbox_fd, dir, O_RDONLY | O_DIRECTORY, 0, 1);
        if (up->dirfd < 0) {
            mf__fail(up, MHD_HTTP_BAD_REQUEST, "cannot make folder '%s' in the inbox", dir);
            return;
        }
        /* mf_gw_open_beneath created the parents; the last one too */
    } else {
        up->dirfd = dup(up->g->inbox_fd);
    }
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        abort();
    snprintf(up->tmp, sizeof(up->tmp), ".mf-upload-%02x%02x%02x%02x%02x%02x%02x%02x.part", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    up->fd = openat(up->dirfd, up->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (up->fd < 0)
        mf__fail(up, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot write into the inbox: %s",
                 strerror(errno));
}

static void mf__write(mf_gw_upload_state *up, const char *data, size_t size)
{
    if (up->fail_status != 0 || up->fd < 0)
        return;
    if (up->written + (int64_t)size > up->g->cfg->max_input_bytes) {
        mf__fail(up, MHD_HTTP_CONTENT_TOO_LARGE, "%s", "upload larger than max_input_bytes");
        return;
    }
    up->written += (int64_t)size;
    while (size > 0) {
        ssize_t n = write(up->fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            mf__fail(up, MHD_HTTP_INTERNAL_SERVER_ERROR, "write failed: %s", strerror(errno));
            return;
        }
        data += n;
        size -= (size_t)n;
    }
}

/* Creates the state on the first call (headers only). */
static void mf__start(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *url)
{
    mf_gw_upload_state *up = calloc(1, sizeof(*up));
    const char *clen =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *profile;
    int put = url[11] == '/';
    long long len = clen != NULL ? strtoll(clen, NULL, 10) : -1;

    if (up == NULL)
        abort();
    up->g = g;
    up->fd = up->dirfd = -1;
    rq->up = up;
    if (len > g->cfg->max_input_bytes + (put ? 0 : MF__FORM_SLACK)) {
        mf__fail(up, MHD_HTTP_CONTENT_TOO_LARGE, "%s", "upload larger than max_input_bytes");
        return;
    }
    if (put) {
        profile = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "profile");
        if (profile != NULL && strlen(profile) >= sizeof(up->profile)) {
            mf__fail(up, MHD_HTTP_BAD_REQUEST, "unknown profile '%s'", "(too long)");
            return;
        }
        snprintf(up->profile, sizeof(up->profile), "%s", profile != NULL ? profile : "");
        mf__begin(up, url + 12);
    }
}

static void mf__append(char *buf, size_t cap, size_t *len, const char *data, size_t size)
{
    if (*len + size >= cap) {
        size = cap - 1 - *len; /* too long: cut, and the checks refuse it */
    }
    memcpy(buf + *len, data, size);
    *len += size;
    buf[*len] = '\0';
}

static enum MHD_Result mf__form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *filename, const char *content_type,
                                      const char *transfer_encoding, const char *data, uint64_t off,
                                      size_t size)
{
    mf_gw_upload_state *up = cls;

    if (up->fail_status != 0)
        return MHD_NO;
    if (strcmp(key, "file") == 0 && filename != NULL) {
        if (off == 0) {
            const char *base = strrchr(filename, '/');
            if (up->files++ > 0) {
                mf__fail(up, MHD_HTTP_BAD_REQUEST, "%s", "one file per upload");
                return MHD_NO;
            }
            mf__begin(up, up->form_path[0] != '\0' ? up->form_path
                                                   : (base != NULL ? base + 1 : filename));
        }
        mf__write(up, data, size);
    } else if (strcmp(key, "profile") == 0) {
        mf__append(up->profile, sizeof(up->profile), &up->profile_len, data, size);
    } else if (strcmp(key, "path") == 0) {
        mf__append(up->form_path, sizeof(up->form_path), &up->form_path_len, data, size);
    }
    return up->fail_status == 0 ? MHD_YES : MHD_NO;
}

/* The body is complete: rename, reply 201. */
static enum MHD_Result mf__finish(struct MHD_Connection *c, mf_gw_req *rq, mf_gw_upload_state *up)
{
    const char *name;
    char *enc, *loc, *text;
    json_t *o;
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t n;

    if (up->fail_status == 0 && up->fd < 0)
        mf__fail(up, MHD_HTTP_BAD_REQUEST, "%s", "no file in the form (field \"file\")");
    if (up->fail_status == 0 && close(up->fd) < 0)
        mf__fail(up, MHD_HTTP_INTERNAL_SERVER_ERROR, "close failed: %s", strerror(errno));
    up->fd = up->fail_status == 0 ? -1 : up->fd;
    name = strrchr(up->rel, '/') != NULL ? strrchr(up->rel, '/') + 1 : up->rel;
    if (up->fail_status == 0 && renameat(up->dirfd, up->tmp, up->dirfd, name) < 0) {
        unlinkat(up->dirfd, up->tmp, 0);
        mf__fail(up, MHD_HTTP_INTERNAL_SERVER_ERROR, "rename failed: %s", strerror(errno));
    }
    if (up->fail_status != 0)
        return mf_gw_reply_error(c, rq, up->fail_status, "%s", up->fail_msg);
    enc = mf_gw_urlencode(up->rel, 0);
    n = strlen(enc) + 32;
    loc = malloc(n);
    if (loc == NULL)
        abort();
    snprintf(loc, n, "/api/files?path=%s", enc);
    mf_log(MF_LOG_INFO, "msg=\"upload stored\" bytes=%lld location=%s", (long long)up->written,
           loc);
    o = json_pack("{s:s?,s:s,s:I,s:s}", "path", up->rel, "profile",
                  up->profile[0] != '\0' ? up->profile : "default", "size", (json_int_t)up->written,
                  "location", loc);
    text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    r = MHD_create_response_from_buffer(text != NULL ? strlen(text) : 2,
                                        text != NULL ? text : (char *)"{}", MHD_RESPMEM_MUST_COPY);
    if (r != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
        rq->bytes = text != NULL ? strlen(text) : 2;
        ret = mf_gw_queue(c, rq, MHD_HTTP_CREATED, r);
    } else {
        ret = MHD_NO;
    }
    free(text);
    json_decref(o);
    free(loc);
    free(enc);
    return ret;
}

enum MHD_Result mf_gw_upload(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *url,
                             const char *upload_data, size_t *upload_data_size)
{
    mf_gw_upload_state *up = rq->up;

    if (up == NULL) {
        mf__start(g, c, rq, url);
        up = rq->up;
        if (up->fail_status == 0 && url[11] != '/') {
            up->pp = MHD_create_post_processor(c, MF__POST_BUFFER, mf__form_field, up);
            if (up->pp == NULL)
                mf__fail(up, MHD_HTTP_BAD_REQUEST, "%s",
                         "POST /api/upload takes multipart/form-data (or PUT the file)");
        }
        /* refused from the headers: answer now, the body is never read */
        if (up->fail_status != 0)
            return mf_gw_reply_error(c, rq, up->fail_status, "%s", up->fail_msg);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (up->pp != NULL && up->fail_status == 0)
            (void)MHD_post_process(up->pp, upload_data, *upload_data_size);
        else if (up->pp == NULL)
            mf__write(up, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return mf__finish(c, rq, up);
}
