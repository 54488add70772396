/* Images of documents: a scan or photo of a page in any format the image lane takes (PNG,
 * TIFF with its pages, JPEG, WebP, GIF, HEIC/AVIF, BMP, ICO, PSD, JPEG 2000, JPEG XL,
 * PBM/PGM/PPM: one list, workers/vipsutil) that reaches the doc lane (e.g. dropped in
 * inbox/ocr/) is read like a scanned PDF:
 * every page is OCRed, its text goes to text.txt, and with the ocr profile the pages become a
 * searchable PDF. The file's own bytes decide the format (the one-shot mode has no MIME type),
 * never its name.
 *
 * Decoding is the image lane's (workers/vipsutil): the same list of formats and decoders,
 * the size, page count and decode memory (image_max_decode_mb; a page is held whole here)
 * read from the header and checked before a pixel is decoded, EXIF orientation applied;
 * tesseract gets raw 8-bit grey pixels, never an encoded file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/limits.h"
#include "mf/vipsutil.h"
#include "doc.h"

/* A scan without a usable resolution tag is assumed to be 300 dpi, the common scanner setting;
 * tags outside this range are typos (72 is a screen default, not a scan). */
#define MF__IMG_DPI_MIN 100
#define MF__IMG_DPI_MAX 1200
#define MF__IMG_DPI_DEFAULT 300

/* image_max_decode_mb: what a page decode may hold (here every page is held whole). */
static int64_t mf__img_budget_mb = MF_DEFAULT_IMAGE_MAX_DECODE_MB;

int mf_docimage_init(int64_t max_decode_mb, mf_err *err)
{
    if (max_decode_mb > 0)
        mf__img_budget_mb = max_decode_mb;
    return mf_vips_init("mf-worker-doc", err);
}

void mf_docimage_shutdown(void)
{
    vips_shutdown();
}

int mf_docimage_format(int fd)
{
    char path[64];

    if (fd < 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    /* a PDF is "not a known file format" to a blocked libvips: fine */
    return mf_vips_format_index(mf_vips_format_find(path));
}

/* Pages in the file (a TIFF may hold many) and the first page's size as displayed, from the
 * header: no pixel is decoded. */
static int mf__img_check(const char *file, const mf_vips_format *f, long max_pixels, int *pages,
                         json_t *meta, mf_err *err)
{
    VipsImage *head = NULL;
    int w, h, n, rc;

    rc = mf_vips_open(file, f, &head, err);
    if (rc < 0)
        goto out;
    w = vips_image_get_width(head);
    h = vips_image_get_height(head);
    n = f->pages ? vips_image_get_n_pages(head) : 1; /* JPEG 2000 "pages" are resolutions */
    if (!f->direct && vips_image_get_orientation_swap(head)) {
        w = vips_image_get_height(head);
        h = vips_image_get_width(head);
    }
    if ((double)w * h > (double)max_pixels) {
        rc = mf_err_set(err, MF_ELIMIT, "image is %dx%d, over the limit of %ld megapixels", w, h,
                        max_pixels / 1000000);
        goto out;
    }
    rc = mf_vips_check_budget(head, f, 1, 1, mf__img_budget_mb, err);
    if (rc < 0)
        goto out;
    if (n > MF_DOC_MAX_PAGES) {
        rc = mf_err_set(err, MF_ELIMIT, "image has %d pages, over the limit of %d pages", n,
                        MF_DOC_MAX_PAGES);
        goto out;
    }
    *pages = n;
    json_object_set_new(meta, "pages", json_integer(n));
    json_object_set_new(meta, "width", json_integer(w));
    json_object_set_new(meta, "height", json_integer(h));
out:
    if (head != NULL)
        g_object_unref(head);
    return rc;
}

/* Page index of file as 8-bit grey, upright, alpha flattened on white. */
static int mf__img_grey(const char *file, const mf_vips_format *f, int index, long max_pixels,
                        mf_grey *out, mf_err *err)
{
    VipsImage *t[5] = {NULL, NULL, NULL, NULL, NULL}, *cur;
    double dpi;
    char why[256];
    size_t len = 0;
    int rc = 0, i;

    /* Random access: turning a page (EXIF orientation) reads it out of order; OCR wants all
     * of it in memory anyway. HEIF and ImageMagick's formats come decoded and upright. */
    rc = mf_vips_load(file, f, index, &t[0], err);
    if (rc < 0)
        goto out;
    cur = t[0];
    if (vips_autorot(cur, &t[1], NULL) != 0)
        goto vips_failed;
    cur = t[1];
    if ((double)cur->Xsize * cur->Ysize > (double)max_pixels) {
        rc = mf_err_set(err, MF_ELIMIT, "image page is %dx%d, over the limit of %ld megapixels",
                        cur->Xsize, cur->Ysize, max_pixels / 1000000);
        goto out;
    }
    if (vips_image_hasalpha(cur)) {
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);

        rc = vips_flatten(cur, &t[2], "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (rc != 0)
            goto vips_failed;
        cur = t[2];
    }
    if (vips_colourspace(cur, &t[3], VIPS_INTERPRETATION_B_W, NULL) != 0 ||
        vips_cast_uchar(t[3], &t[4], NULL) != 0)
        goto vips_failed;
    cur = t[4];
    /* libvips keeps the resolution in pixels per millimetre */
    dpi = vips_image_get_yres(t[0]) * 25.4;
    out->dpi =
        dpi >= MF__IMG_DPI_MIN && dpi <= MF__IMG_DPI_MAX ? (int)(dpi + 0.5) : MF__IMG_DPI_DEFAULT;
    out->px = vips_image_write_to_memory(cur, &len); /* decoding happens here */
    if (out->px == NULL)
        goto vips_failed;
    out->width = cur->Xsize;
    out->height = cur->Ysize;
    out->stride = cur->Xsize;
    goto out;
vips_failed:
    rc = mf_err_set(err, MF_ECORRUPT, "cannot decode page %d of the %s image: %s", index + 1,
                    f->name, mf_vips_error(why, sizeof(why)));
out:
    for (i = 0; i < 5; i++)
        if (t[i] != NULL)
            g_object_unref(t[i]);
    return rc;
}

/* Decodes page index and OCRs it into text. */
static int mf__img_page(mf_ocr *ocr, const char *file, const mf_vips_format *f, int index,
                        long max_pixels, mf_ocr_text *text, mf_err *err)
{
    mf_grey g = {0};
    int rc;

    rc = mf__img_grey(file, f, index, max_pixels, &g, err);
    if (rc == 0)
        rc = mf_ocr_recognize(ocr, &g, text, err);
    g_free(g.px); /* from libvips: g_malloc'd */
    return rc;
}

/* meta: what mf__img_check() found, plus the format, characters per page and OCR summary. */
static void mf__img_meta(json_t *meta, int format, json_t *chars, int pages, long conf_sum)
{
    const mf_vips_format *f = mf_vips_format_at(format);

    json_object_set_new(meta, "format", json_string(f != NULL ? f->name : "unknown"));
    json_object_set(meta, "page_chars", chars);
    json_object_set_new(meta, "ocr",
                        json_pack("{s:i,s:f,s:s}", "pages", (json_int_t)pages, "mean_confidence",
                                  pages > 0 ? (double)conf_sum / pages : 0.0, "language",
                                  MF_DOC_OCR_LANG));
}

int mf_docimage_process(const mf_lane_job *job, mf_ocr *ocr, int format, int searchable,
                        long max_pixels, mf_result *res, mf_err *err)
{
    char file[64];
    json_t *meta = json_object(), *chars = json_array();
    mf_ocr_text text = {0};
    mf_textbuf buf;
    long conf_sum = 0;
    int64_t start;
    int i, pages = 0, rc;

    const mf_vips_format *f = mf_vips_format_at(format);

    mf_textbuf_init(&buf);
    snprintf(file, sizeof(file), "/proc/self/fd/%d", job->fd);
    rc = f != NULL ? 0 : mf_err_set(err, MF_EUNSUPPORTED, "not an image this lane reads");
    if (rc == 0)
        rc = mf__img_check(file, f, max_pixels, &pages, meta, err);
    if (rc == 0 && searchable)
        rc = mf_ocr_pdf_begin(ocr, job->outdir, err);
    for (i = 0; i < pages && rc == 0; i++) {
        start = mf_clock_mono_ms();
        rc = mf__img_page(ocr, file, f, i, max_pixels, &text, err);
        if (rc == 0) /* the per-page budget, as for PDF pages (a TIFF may hold 2,000) */
            rc = mf_pdfdoc_check_page_time(i + 1, mf_clock_mono_ms() - start, MF_DOC_PAGE_SECONDS,
                                           err);
        if (rc < 0)
            goto out;
        mf_pdftext_append_page(&buf, text.text);
        json_array_append_new(chars, json_integer((json_int_t)mf_pdftext_visible(text.text)));
        conf_sum += text.confidence;
        mf_ocr_text_close(&text);
    }
    if (rc == 0)
        rc = mf_fs_write_atomic(job->outdir, "text.txt", buf.data, buf.len, err);
    if (rc < 0)
        goto out;
    mf_result_add_output(res, "text.txt");
    json_object_set_new(meta, "text",
                        mf_pdftext_excerpt(buf.data, buf.len, MF_DOC_META_TEXT_CHARS));
    if (searchable) {
        rc = mf_ocr_pdf_end(ocr, 1, "searchable.pdf", err);
        if (rc < 0)
            goto out;
        mf_result_add_output(res, "searchable.pdf");
    }
    json_object_set_new(meta, "pages", json_integer(pages));
    mf__img_meta(meta, format, chars, pages, conf_sum);
    json_object_update(res->meta, meta);
out:
    mf_ocr_pdf_end(ocr, 0, NULL, NULL); /* no-op unless a failure left it open */
    mf_ocr_text_close(&text);
    mf_textbuf_close(&buf);
    json_decref(chars);
    json_decref(meta);
    return rc;
}
