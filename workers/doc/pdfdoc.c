/* Opening a PDF and reading what describes the whole document. poppler-glib does the parsing;
 * this file turns its outcomes into the lane's error codes and the record's meta fields. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "doc.h"

int mf_pdfdoc_open(const char *path, int fd, PopplerDocument **out, mf_err *err)
{
    char fdpath[64];
    const char *file = path;
    GError *gerr = NULL;
    gchar *uri = NULL;
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (fd >= 0) {
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        file = fdpath;
    }
    if (stat(file, &st) < 0) {
        rc = mf_err_sys(err, -errno, "stat()");
        goto out;
    }
    if (st.st_size == 0) {
        /* poppler says only "PDF document is damaged"; a person wants to know why. */
        rc = mf_err_set(err, MF_ECORRUPT, "poppler_document_new_from_file() failed: empty file");
        goto out;
    }
    uri = g_filename_to_uri(file, NULL, &gerr);
    if (uri == NULL) {
        rc = mf_err_set(err, MF_EINVAL, "g_filename_to_uri() failed: %s", gerr->message);
        goto out;
    }
    *out = poppler_document_new_from_file(uri, NULL, &gerr);
    if (*out != NULL)
        goto out;
    if (g_error_matches(gerr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        rc = mf_err_set(err, MF_EUNSUPPORTED, "PDF is password-protected (user password required)");
    else if (gerr != NULL && gerr->domain == G_FILE_ERROR)
        rc = mf_err_set(err, -EIO, "poppler_document_new_from_file() failed: %s", gerr->message);
    else
        rc = mf_err_set(err, MF_ECORRUPT, "poppler_document_new_from_file() failed: %s",
                        gerr != NULL ? gerr->message : "unknown error");
out:
    if (gerr != NULL)
        g_error_free(gerr);
    g_free(uri);
    return rc;
}

int mf_pdfdoc_check_pages(int n_pages, int max_pages, mf_err *err)
{
    if (n_pages <= 0)
        return mf_err_set(err, MF_ECORRUPT, "poppler_document_get_n_pages() failed: no pages");
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
