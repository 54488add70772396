/* Unit tests of the doc lane's modules (workers/doc): text layout rules, the page limit, and
 * the render caps that keep one page's work bounded. PDFs are drawn with cairo here. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cairo-pdf.h>
#include "doc.h"

/* A one-page PDF of w x h points whose left half is black; returns its path (static). */
static const char *mf__test_pdf(double w, double h)
{
    static char path[512];
    const char *dir = getenv("MF_TEST_TMP") != NULL ? getenv("MF_TEST_TMP") : "/tmp";
    cairo_surface_t *s;
    cairo_t *cr;

    g_mkdir_with_parents(dir, 0755); /* the first test of a run may find no MF_TEST_TMP yet */
    snprintf(path, sizeof(path), "%s/test_doc.%ld.pdf", dir, (long)getpid());
    s = cairo_pdf_surface_create(path, w, h);
    cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, 0, 0, w / 2, h);
    cairo_fill(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
    return path;
}

static PopplerPage *mf__test_page(const char *path, PopplerDocument **doc)
{
    mf_err err = {0};

    assert_int_equal(mf_pdfdoc_open(path, -1, doc, &err), 0);
    return poppler_document_get_page(*doc, 0);
}

static void test_visible_counts_characters_not_bytes_or_spaces(void **state)
{
    assert_int_equal(mf_pdftext_visible(NULL), 0);
    assert_int_equal(mf_pdftext_visible(" \n\t\f\r "), 0);
    assert_int_equal(mf_pdftext_visible("ab c\n"), 3);
    assert_int_equal(mf_pdftext_visible("caf\xc3\xa9 \xe2\x82\xac"), 5); /* café € */
    /* pdftotext's right-to-left line: U+202B, two Hebrew letters, U+202C; a zero-width space */
    assert_int_equal(mf_pdftext_visible("\xe2\x80\xab\xd7\xa9\xd7\x9c\xe2\x80\xac\n"), 2);
    assert_int_equal(mf_pdftext_visible("a\xe2\x80\x8b"), 1);
}

static void test_pages_end_in_newline_and_form_feed_like_pdftotext(void **state)
{
    mf_textbuf b;

    mf_textbuf_init(&b);
    mf_pdftext_append_page(&b, "one");
    mf_pdftext_append_page(&b, "two\n");
    mf_pdftext_append_page(&b, NULL);
    mf_pdftext_append_page(&b, "");
    mf_pdftext_append_page(&b, "three\n\n\f"); /* pdftotext's page: kept as it is */
    assert_int_equal(b.len, strlen("one\n\ftwo\n\f\f\fthree\n\n\f"));
    assert_memory_equal(b.data, "one\n\ftwo\n\f\f\fthree\n\n\f", b.len);
    mf_textbuf_close(&b);
}

static void test_page_limit_names_the_limit(void **state)
{
    mf_err err = {0};

    assert_int_equal(mf_pdfdoc_check_pages(2000, 2000, &err), 0);
    assert_int_equal(mf_pdfdoc_check_pages(2001, 2000, &err), MF_ELIMIT);
    assert_non_null(strstr(err.msg, "2001 pages"));
    assert_non_null(strstr(err.msg, "limit of 2000 pages"));
    assert_int_equal(mf_pdfdoc_check_pages(0, 2000, &err), MF_ECORRUPT);
}

static void test_page_time_names_the_page_and_the_limit(void **state)
{
    mf_err err = {0};

    (void)state;
    assert_int_equal(mf_pdfdoc_check_page_time(7, 0, 60, &err), 0);
    assert_int_equal(mf_pdfdoc_check_page_time(7, 60000, 60, &err), 0);
    assert_int_equal(mf_pdfdoc_check_page_time(7, 60001, 60, &err), MF_ELIMIT);
    assert_string_equal(err.msg, "page 7 took 60.0 s, over the limit of 60 s per page");
    assert_int_equal(mf_pdfdoc_check_page_time(12, 1500, 1, &err), MF_ELIMIT);
    assert_string_equal(err.msg, "page 12 took 1.5 s, over the limit of 1 s per page");
    assert_false(mf_err_retryable(MF_ELIMIT)); /* a slow page stays slow: dead-letter it */
}

static void test_open_missing_file_is_enoent(void **state)
{
    PopplerDocument *doc = NULL;
    mf_err err = {0};

    assert_int_equal(mf_pdfdoc_open("/nonexistent/x.pdf", -1, &doc, &err), -ENOENT);
    assert_null(doc);
}

static void test_grey_render_converts_and_keeps_resolution(void **state)
{
    const char *path = mf__test_pdf(72, 36); /* 1 x 0.5 inch */
    PopplerDocument *doc = NULL;
    PopplerPage *page = mf__test_page(path, &doc);
    mf_grey g = {0};
    mf_err err = {0};

    assert_int_equal(mf_render_grey(page, 300, 1000000, &g, &err), 0);
    assert_int_equal(g.width, 300);
    assert_int_equal(g.height, 150);
    assert_int_equal(g.dpi, 300);
    assert_true(g.px[75 * g.stride + 10] < 16);   /* left half black */
    assert_true(g.px[75 * g.stride + 290] > 240); /* right half white */
    assert_false(mf_grey_is_blank(&g));
    mf_grey_close(&g);
    g_object_unref(page);
    g_object_unref(doc);
    unlink(path);
}

static void test_grey_render_of_a_huge_page_is_capped(void **state)
{
    const char *path = mf__test_pdf(14400, 14400); /* the largest page PDF allows: 200 in */
    PopplerDocument *doc = NULL;
    PopplerPage *page = mf__test_page(path, &doc);
    mf_grey g = {0};
    mf_err err = {0};

    assert_int_equal(mf_render_grey(page, 300, 4000000, &g, &err), 0);
    assert_true((long)g.width * g.height <= 4000000);
    assert_true(g.width >= 1990);
    assert_true(g.dpi < 300);
    mf_grey_close(&g);
    g_object_unref(page);
    g_object_unref(doc);
    unlink(path);
}

static void test_blank_means_fewer_than_64_ink_pixels(void **state)
{
    unsigned char px[100 * 50];
    mf_grey g = {px, 100, 50, 100, 300};

    memset(px, 255, sizeof(px));
    assert_true(mf_grey_is_blank(&g));
    memset(px + 1000, 40, 63); /* dust */
    assert_true(mf_grey_is_blank(&g));
    px[4999] = 0; /* a 64th dark pixel, last in the raster */
    assert_false(mf_grey_is_blank(&g));
}

/* An open descriptor on a temporary file (unlinked already) holding body. */
static int mf__test_fd(const char *body)
{
    char path[512];
    const char *dir = getenv("MF_TEST_TMP") != NULL ? getenv("MF_TEST_TMP") : "/tmp";
    int fd;

    g_mkdir_with_parents(dir, 0755);
    snprintf(path, sizeof(path), "%s/test_doc_crypt.%ld.pdf", dir, (long)getpid());
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    unlink(path);
    return fd;
}

/* A file holding an encryption dictionary (object 7, after an object 17 that must not be
 * taken for it) and a trailer naming it: only the bytes mf_pdfdoc_check_crypt() reads. */
static int mf__test_crypt_fd(const char *dict)
{
    char body[2048];

    snprintf(body, sizeof(body),
             "%%PDF-1.7\n17 0 obj\n<< /Other 1 >>\nendobj\n7 0 obj\n%s\nendobj\n"
             "trailer\n<< /Size 18 /Root 1 0 R /Encrypt 7 0 R >>\n%%%%EOF\n",
             dict);
    return mf__test_fd(body);
}

static void test_crypt_poppler_cannot_apply_names_the_handler(void **state)
{
    mf_err err = {0};
    int fd;

    (void)state;
    /* a version poppler does not implement: poppler opened it as unencrypted */
    fd = mf__test_crypt_fd("<< /Filter /Standard /V 9 /R 6 /Length 256 /P -4 >>");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 0, &err), MF_EUNSUPPORTED);
    assert_string_equal(err.msg, "PDF is encrypted with a security handler that cannot be "
                                 "opened (/Standard version 9 revision 6, which poppler does not "
                                 "implement)");
    assert_false(mf_err_retryable(MF_EUNSUPPORTED)); /* it will not open on a retry either */
    close(fd);
    /* an unknown crypt filter method, even though poppler "decrypts" (with the wrong one) */
    fd = mf__test_crypt_fd("<< /Filter /Standard /V 5 /R 6 /CF << /StdCF << /CFM /AESV9 >> >> "
                           "/StmF /StdCF /StrF /StdCF >>");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 1, &err), MF_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "unknown crypt filter method /AESV9"));
    close(fd);
}

static void test_crypt_poppler_applies_or_nothing_encrypted_is_fine(void **state)
{
    mf_err err = {0};
    int fd;

    (void)state;
    fd = mf__test_crypt_fd("<< /Filter /Standard /V 5 /R 6 /CF << /StdCF << /CFM /AESV3 >> >> "
                           "/StmF /StdCF /StrF /StdCF >>");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 1, &err), 0);
    close(fd);
    /* Identity crypt filters: encrypted in name only, poppler rightly reads it as it is */
    fd = mf__test_crypt_fd("<< /Filter /Standard /V 4 /R 4 /CF << /StdCF << /CFM /V2 >> >> "
                           "/StmF /Identity /StrF /Identity >>");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 0, &err), 0);
    close(fd);
    assert_int_equal(mf_pdfdoc_check_crypt(-1, 0, &err), 0);
    /* "/Encrypt" outside the trailer (in a content stream) is not the file's encryption */
    fd = mf__test_fd("%PDF-1.4\n5 0 obj\n<< /Length 9 /Filter /FlateDecode >>\nstream\n"
                     "/Encrypt 5 0 R\nendstream\nendobj\ntrailer\n<< /Size 6 >>\n%%EOF\n");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 0, &err), 0);
    close(fd);
    /* a direct dictionary in the trailer is read too */
    fd = mf__test_fd("%PDF-1.4\ntrailer\n<< /Size 1 /Encrypt << /Filter /Standard /V 7 /R 8 >> "
                     ">>\nstartxref\n0\n%%EOF\n");
    assert_int_equal(mf_pdfdoc_check_crypt(fd, 0, &err), MF_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "/Standard version 7 revision 8"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visible_counts_characters_not_bytes_or_spaces),
        cmocka_unit_test(test_pages_end_in_newline_and_form_feed_like_pdftotext),
        cmocka_unit_test(test_page_limit_names_the_limit),
        cmocka_unit_test(test_page_time_names_the_page_and_the_limit),
        cmocka_unit_test(test_open_missing_file_is_enoent),
        cmocka_unit_test(test_crypt_poppler_cannot_apply_names_the_handler),
        cmocka_unit_test(test_crypt_poppler_applies_or_nothing_encrypted_is_fine),
        cmocka_unit_test(test_grey_render_converts_and_keeps_resolution),
        cmocka_unit_test(test_grey_render_of_a_huge_page_is_capped),
        cmocka_unit_test(test_blank_means_fewer_than_64_ink_pixels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
