/* Opening a PDF and reading what describes the whole document. poppler-glib does the parsing;
 * this file turns its outcomes into the lane's error codes and the record's meta fields. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "doc.h"

int mf__doc_err_prefix(mf_err *err, int rc, const char *fmt, ...)
{
    char prefix[128], msg[sizeof(err->msg)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "%s", err->msg);
    mf_err_set(err, rc, "%s%s", prefix, msg);
    return rc;
}

const char *mf_pdfdoc_file(const char *path, int fd, char *buf, size_t size)
{
    if (fd < 0)
        return path;
    snprintf(buf, size, "/proc/self/fd/%d", fd);
    return buf;
}

/* The encryption dictionary's words that decide whether it can be opened. */
typedef struct mf__crypt {
    char filter[48]; /* /Filter: the security handler ("Standard", "Adobe.PubSec", ...) */
    char cfm[16];    /* /CFM of the crypt filters ("" without); the first unknown one wins */
    int version;     /* /V, -1 without */
    int revision;    /* /R, -1 without */
    int identity;    /* /StmF and /StrF are /Identity: nothing is actually encrypted */
} mf__crypt;

/* Where the last "N G obj" begins in fd (-1 if nowhere): a whole-file scan in 1 MiB reads,
 * done only for a file whose trailer names /Encrypt (one sequential read; the dispatcher's
 * hash has just read it too). The last one wins, as with incremental updates. */
static off_t mf__find_obj(int fd, long num, long gen)
{
    enum { CHUNK = 1 << 20, OVERLAP = 64 };
    char pat[48], *buf = malloc(CHUNK + 1);
    off_t pos = 0, found = -1;
    size_t plen;
    ssize_t n;
    char *p, *end;

    if (buf == NULL)
        abort();
    plen = (size_t)snprintf(pat, sizeof(pat), "%ld %ld obj", num, gen);
    for (;;) {
        n = pread(fd, buf, CHUNK, pos);
        if (n <= 0)
            break;
        for (p = buf, end = buf + n; (p = memmem(p, (size_t)(end - p), pat, plen)) != NULL; p++) {
            /* "11 0 obj" must not match the tail of "111 0 obj" */
            if ((p == buf && pos == 0) || (p > buf && (p[-1] < '0' || p[-1] > '9')))
                found = pos + (p - buf);
        }
        if (n < CHUNK)
            break;
        pos += n - OVERLAP;
    }
    free(buf);
    return found;
}

/* The name after key in dict ("" when absent), at most size - 1 bytes. */
static void mf__dict_name(const char *dict, const char *key, char *out, size_t size)
{
    const char *p = strstr(dict, key);
    size_t n = 0;

    out[0] = '\0';
    if (p == NULL)
        return;
    p += strlen(key);
    while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
        p++;
    if (*p++ != '/')
        return;
    while (n + 1 < size && *p > ' ' && strchr("/<>[]()", *p) == NULL)
        out[n++] = *p++;
    out[n] = '\0';
}

/* The integer after key (key then a delimiter: "/V" is not "/Version"), -1 when absent. */
static int mf__dict_int(const char *dict, const char *key)
{
    const char *p = dict;
    size_t klen = strlen(key);

    while ((p = strstr(p, key)) != NULL) {
        p += klen;
        if (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t') {
            while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
                p++;
            if (*p >= '0' && *p <= '9')
                return (int)strtol(p, NULL, 10);
        }
    }
    return -1;
}

/* The last occurrence of the string s in the n bytes at buf, or NULL. */
static char *mf__last(char *buf, size_t n, const char *s)
{
    size_t len = strlen(s);
    char *p = buf, *q, *last = NULL;

    while ((q = memmem(p, n - (size_t)(p - buf), s, len)) != NULL) {
        last = q;
        p = q + 1;
    }
    return last;
}

/* 1 when at (in buf) is inside a trailer or a cross-reference stream's dictionary: one of
 * those begins before it with no stream data in between ("stream" ends the XRef dictionary). */
static int mf__in_trailer(char *buf, const char *at)
{
    size_t n = (size_t)(at - buf);
    char *t = mf__last(buf, n, "trailer"), *x = mf__last(buf, n, "/XRef");
    char *s = mf__last(buf, n, "stream");

    t = x > t ? x : t;
    return t != NULL && (s == NULL || s < t);
}

/* Reads the encryption dictionary the trailer (or the cross-reference stream) names with
 * /Encrypt N G R, or holds after /Encrypt. Returns 1 with c filled, 0 when the file names none or
 * it cannot be found. Only the words poppler itself decides by are read; nothing here decrypts. */
static int mf__crypt_read(int fd, mf__crypt *c)
{
    char buf[16384 + 1], dict[4096 + 1];
    struct stat st;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
    off_t starts[2] = {size > 16384 ? size - 16384 : 0, 0}, at = -1;
    long num = -1, gen = -1;
    ssize_t n;
    char *p, *q, *e;
    int i;

    memset(c, 0, sizeof(*c));
    /* the trailer is in the last KiB; a linearized file repeats it in the first */
    for (i = 0; i < 2 && num < 0 && size > 0; i++) {
        n = pread(fd, buf, sizeof(buf) - 1, starts[i]);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        for (p = buf; (q = memmem(p, (size_t)(buf + n - p), "/Encrypt", 8)) != NULL; p = q + 8) {
            if (!mf__in_trailer(buf, q))
                continue; /* a content stream may say "/Encrypt 5 0 R" too */
            e = q + 8 + strspn(q + 8, " \r\n\t");
            if (strncmp(e, "<<", 2) == 0) { /* a direct dictionary, in the trailer itself */
                at = starts[i] + (e - buf);
                break;
            }
            num = strtol(q + 8, &e, 10);
            gen = e != q + 8 ? strtol(e, &e, 10) : -1;
            if (num > 0 && gen >= 0 && e[strspn(e, " \r\n\t")] == 'R')
                break;
            num = -1; /* "/Encrypt" of something else */
        }
        if (at >= 0)
            break;
    }
    if (num > 0)
        at = mf__find_obj(fd, num, gen);
    if (at < 0)
        return 0;
    n = pread(fd, dict, sizeof(dict) - 1, at);
    if (n <= 0)
        return 0;
    dict[n] = '\0';
    for (i = 0; i < n; i++) /* binary /O /U strings: keep strstr() going past NUL bytes */
        dict[i] = dict[i] == '\0' ? ' ' : dict[i];
    p = strstr(dict, "endobj"); /* or, after a direct dictionary, the rest of the trailer */
    if (p != NULL || (p = strstr(dict, "startxref")) != NULL)
        *p = '\0';
    mf__dict_name(dict, "/Filter", c->filter, sizeof(c->filter));
    c->version = mf__dict_int(dict, "/V");
    c->revision = mf__dict_int(dict, "/R");
    for (p = dict; (p = strstr(p, "/CFM")) != NULL && c->cfm[0] == '\0'; p += 4) {
        mf__dict_name(p, "/CFM", c->cfm, sizeof(c->cfm));
        if (strcmp(c->cfm, "None") == 0 || strcmp(c->cfm, "V2") == 0 ||
            strcmp(c->cfm, "AESV2") == 0 || strcmp(c->cfm, "AESV3") == 0)
            c->cfm[0] = '\0'; /* the methods PDF defines and poppler implements */
    }
    c->identity =
        strstr(dict, "/StmF /Identity") != NULL && strstr(dict, "/StrF /Identity") != NULL;
    return 1;
}

/* The error of a PDF encrypted by a security handler that cannot be opened, naming it. */
static int mf__crypt_error(const mf__crypt *c, mf_err *err)
{
    if (c->filter[0] == '\0')
        return mf_err_set(err, MF_EUNSUPPORTED,
                          "PDF is encrypted with a security handler that cannot be opened "
                          "(its encryption dictionary names no /Filter)");
    if (c->cfm[0] != '\0')
        return mf_err_set(err, MF_EUNSUPPORTED,
                          "PDF is encrypted with a security handler that cannot be opened "
                          "(/%s with the unknown crypt filter method /%s)",
                          c->filter, c->cfm);
    if (strcmp(c->filter, "Standard") == 0)
        return mf_err_set(err, MF_EUNSUPPORTED,
                          "PDF is encrypted with a security handler that cannot be opened "
                          "(/Standard version %d revision %d, which poppler does not implement)",
                          c->version, c->revision);
    return mf_err_set(
        err, MF_EUNSUPPORTED,
        "PDF is encrypted with a security handler that cannot be opened (/%s%s)", c->filter,
        strcmp(c->filter, "Adobe.PubSec") == 0 ? ", a certificate-based handler" : "");
}

/* poppler refused the file as encrypted: a user password, or a handler it does not have. */
static int mf__open_encrypted(const char *file, int fd, mf_err *err)
{
    mf__crypt c;
    int own = fd < 0 ? open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
    int rc;

    if (mf__crypt_read(fd >= 0 ? fd : own, &c) && strcmp(c.filter, "Standard") != 0)
        rc = mf__crypt_error(&c, err);
    else
        rc = mf_err_set(err, MF_EUNSUPPORTED, "PDF is password-protected (user password required)");
    if (own >= 0)
        close(own);
    return rc;
}

int mf_pdfdoc_check_crypt(int fd, int poppler_decrypts, mf_err *err)
{
    mf__crypt c;

    /* without a /Filter it is not an encryption dictionary poppler saw: it refuses those */
    if (fd < 0 || !mf__crypt_read(fd, &c) || c.filter[0] == '\0')
        return 0;
    /* poppler treats an encryption dictionary it cannot use (an unknown version or revision,
     * a bad key length) as no encryption at all, and reads the encrypted bytes as they are:
     * blank pages, or garbage. An unknown crypt filter method it silently decrypts with RC4. */
    if ((!poppler_decrypts && !c.identity) || c.cfm[0] != '\0')
        return mf__crypt_error(&c, err);
    return 0;
}

/* Why a PDF poppler calls damaged may be so, from its first and last bytes: "" when both look
 * like a PDF's. A PDF starts with %PDF- (within its first KB) and ends with %%EOF (within its
 * last KB, after which some writers leave a few bytes). */
static const char *mf__damaged_why(const char *file, int fd, int64_t size)
{
    char b[1025];
    int own = fd < 0;
    const char *why = "";
    ssize_t n;
    size_t t;

    if (own)
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return why;
    n = pread(fd, b, sizeof(b) - 1, 0);
    if (n > 0) {
        b[n] = '\0';
        if (memmem(b, (size_t)n, "%PDF-", 5) == NULL)
            why = "; it does not start with %PDF-: not a PDF, or only named like one";
    }
    t = size < (int64_t)sizeof(b) - 1 ? (size_t)size : sizeof(b) - 1;
    n = why[0] == '\0' ? pread(fd, b, t, (off_t)(size - (int64_t)t)) : -1;
    if (n > 0 && memmem(b, (size_t)n, "%%EOF", 5) == NULL)
        why = "; it does not end with %%EOF: the file is cut short (an upload that did not "
              "finish?)";
    if (own)
        close(fd);
    return why;
}

int mf_pdfdoc_open(const char *path, int fd, PopplerDocument **out, mf_err *err)
{
    char fdpath[64];
    const char *file = mf_pdfdoc_file(path, fd, fdpath, sizeof(fdpath));
    GError *gerr = NULL;
    gchar *uri = NULL;
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (stat(file, &st) < 0) {
        rc = mf_err_set(err, -errno, "PDF cannot be read: %s", strerror(errno));
        goto out;
    }
    if (st.st_size == 0) {
        /* poppler says only "PDF document is damaged"; a person wants to know why. */
        rc = mf_err_set(err, MF_ECORRUPT, "PDF cannot be opened: the file is empty");
        goto out;
    }
    uri = g_filename_to_uri(file, NULL, &gerr);
    if (uri == NULL) {
        /* glib's message quotes the path: an internal one when it is /proc/self/fd/N */
        rc = mf_err_set(err, MF_EINVAL, "PDF cannot be opened: its path is not absolute");
        goto out;
    }
    *out = poppler_document_new_from_file(uri, NULL, &gerr);
    if (*out != NULL)
        goto out;
    /* poppler's messages: "PDF document is damaged", "Document is encrypted", or for a file
     * error strerror() (never the file name, which here is /proc/self/fd/N) */
    if (g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        rc = mf__open_encrypted(file, fd, err);
    else if (gerr != NULL && gerr->domain == G_FILE_ERROR)
        rc = mf_err_set(err, -EIO, "PDF cannot be read: %s", gerr->message);
    else
        rc = mf_err_set(err, MF_ECORRUPT, "PDF cannot be opened: %s%s",
                        gerr != NULL ? gerr->message : "unknown poppler error",
                        mf__damaged_why(file, fd, st.st_size));
out:
    if (gerr != NULL)
        g_error_free(gerr);
    g_free(uri);
    return rc;
}

int mf_pdfdoc_check_pages(int n_pages, int max_pages, mf_err *err)
{
    if (n_pages <= 0)
        return mf_err_set(err, MF_ECORRUPT,
                          "PDF has no pages (poppler found none in its page tree)");
    if (n_pages > max_pages)
        return mf_err_set(err, MF_ELIMIT, "PDF has %d pages, over the limit of %d pages", n_pages,
                          max_pages);
    return 0;
}

int mf_pdfdoc_check_page_time(int page, int64_t elapsed_ms, int limit_s, mf_err *err)
{
    if (elapsed_ms <= (int64_t)limit_s * 1000)
        return 0;
    return mf_err_set(err, MF_ELIMIT, "page %d took %.1f s, over the limit of %d s per page", page,
                      (double)elapsed_ms / 1000.0, limit_s);
}

/* Adds key as a string unless s is NULL or empty; takes s (g_free). Strings from a PDF may not
 * be UTF-8 in broken files: jansson refuses those, and the field is then left out. */
static void mf__meta_take_str(json_t *meta, const char *key, gchar *s)
{
    if (s != NULL && s[0] != '\0')
        json_object_set_new(meta, key, json_string(s)); /* NULL value: not set */
    g_free(s);
}

static void mf__meta_take_time(json_t *meta, const char *key, GDateTime *t)
{
    GDateTime *utc;
    gchar *s;

    if (t == NULL)
        return;
    utc = g_date_time_to_utc(t);
    s = utc != NULL ? g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ") : NULL;
    mf__meta_take_str(meta, key, s);
    if (utc != NULL)
        g_date_time_unref(utc);
    g_date_time_unref(t);
}

/* poppler-glib has no "is encrypted": an owner-password-only file opens like any other. Its
 * trailer (or, with cross-reference streams, the xref stream dictionary) names /Encrypt, and
 * both sit in the last few KiB; a linearized file repeats its trailer in the first KiB. */
static int mf__has_encrypt_entry(int fd)
{
    char buf[16384 + 1];
    struct stat st;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
    off_t starts[2] = {0, size > 16384 ? size - 16384 : 0};
    ssize_t n;
    int i, found = 0;

    /* pread: the descriptor's offset belongs to the runtime. */
    for (i = 0; i < 2 && !found && size > 0; i++) {
        n = pread(fd, buf, sizeof(buf) - 1, starts[i]);
        if (n > 0)
            found = memmem(buf, (size_t)n, "/Encrypt", 8) != NULL;
    }
    return found;
}

/* dc:language from the XMP packet ("<dc:language><rdf:Bag><rdf:li>en-GB</rdf:li>..."). */
static void mf__meta_language(json_t *meta, PopplerDocument *doc)
{
    gchar *xmp = poppler_document_get_metadata(doc);
    const char *p, *li, *end;
    gchar *lang = NULL;

    p = xmp != NULL ? strstr(xmp, "<dc:language") : NULL;
    li = p != NULL ? strstr(p, "<rdf:li") : NULL;
    li = li != NULL ? strchr(li, '>') : NULL;
    end = li != NULL ? strchr(li, '<') : NULL;
    if (end != NULL && end - li > 1 && end - li < 36 && strncmp(li + 1, "x-default", 9) != 0)
        lang = g_strndup(li + 1, (gsize)(end - li - 1));
    mf__meta_take_str(meta, "language", lang);
    g_free(xmp);
}

json_t *mf_pdfdoc_meta(PopplerDocument *doc, int fd)
{
    json_t *meta = json_object();
    PopplerPage *page = poppler_document_get_page(doc, 0);
    guint major = 0, minor = 0;
    double w = 0, h = 0;
    char ver[32];
    int encrypted;

    json_object_set_new(meta, "pages", json_integer(poppler_document_get_n_pages(doc)));
    mf__meta_take_str(meta, "title", poppler_document_get_title(doc));
    mf__meta_take_str(meta, "author", poppler_document_get_author(doc));
    mf__meta_take_str(meta, "subject", poppler_document_get_subject(doc));
    mf__meta_take_str(meta, "keywords", poppler_document_get_keywords(doc));
    mf__meta_take_str(meta, "creator", poppler_document_get_creator(doc));
    mf__meta_take_str(meta, "producer", poppler_document_get_producer(doc));
    mf__meta_take_time(meta, "created", poppler_document_get_creation_date_time(doc));
    mf__meta_take_time(meta, "modified", poppler_document_get_modification_date_time(doc));
    poppler_document_get_pdf_version(doc, &major, &minor);
    snprintf(ver, sizeof(ver), "%u.%u", major, minor);
    json_object_set_new(meta, "pdf_version", json_string(ver));
    encrypted = poppler_document_get_permissions(doc) != POPPLER_PERMISSIONS_FULL ||
                (fd >= 0 && mf__has_encrypt_entry(fd));
    json_object_set_new(meta, "encrypted", json_boolean(encrypted));
    json_object_set_new(meta, "linearized", json_boolean(poppler_document_is_linearized(doc)));
    if (page != NULL) {
        poppler_page_get_size(page, &w, &h);
        json_object_set_new(meta, "page_size", json_pack("{s:f,s:f}", "width", w, "height", h));
        g_object_unref(page);
    }
    mf__meta_language(meta, doc);
    return meta;
}
