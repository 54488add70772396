/* Images of documents: a PNG, TIFF (multi-page too) or JPEG scan that reaches the doc lane
 * (e.g. dropped in inbox/ocr/) is read like a scanned PDF: every page is OCRed, its text goes
 * to text.txt, and with the ocr profile the pages become a searchable PDF. The file's own
 * bytes decide the format (the one-shot mode has no MIME type), never its name.
 *
 * Decoding is leptonica's (the library tesseract already uses), with the size read from the
 * header and checked before a pixel is decoded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <leptonica/allheaders.h>
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "doc.h"

/* A scan without a usable resolution tag is assumed to be 300 dpi, the common scanner setting;
 * tags outside this range are typos (72 is a screen default, not a scan). */
#define MF__IMG_DPI_MIN 100
#define MF__IMG_DPI_MAX 1200
#define MF__IMG_DPI_DEFAULT 300

int mf_docimage_format(int fd)
{
    l_uint8 head[16] = {0};
    l_int32 format = IFF_UNKNOWN;

    if (fd < 0 || pread(fd, head, sizeof(head), 0) < 12)
        return 0;
    findFileFormatBuffer(head, &format);
    if (format == IFF_PNG || format == IFF_JFIF_JPEG || L_FORMAT_IS_TIFF(format))
        return format;
    return 0;
}

/* out = pix as 8-bit grey rows (leptonica packs bytes in 32-bit words: GET_DATA_BYTE). */
static void mf__pix_to_grey(PIX *pix, mf_grey *out)
{
    PIX *g = pixConvertTo8(pix, 0);
    l_uint32 *line;
    l_int32 x, y, wpl = pixGetWpl(g), dpi = pixGetYRes(pix);

    out->width = pixGetWidth(g);
    out->height = pixGetHeight(g);
    out->stride = out->width;
    out->dpi = dpi >= MF__IMG_DPI_MIN && dpi <= MF__IMG_DPI_MAX ? dpi : MF__IMG_DPI_DEFAULT;
    out->px = malloc((size_t)out->width * (size_t)out->height);
    if (out->px == NULL)
        abort();
    for (y = 0; y < out->height; y++) {
        line = pixGetData(g) + (size_t)y * (size_t)wpl;
        for (x = 0; x < out->width; x++)
            out->px[(size_t)y * (size_t)out->width + (size_t)x] = GET_DATA_BYTE(line, x);
    }
    pixDestroy(&g);
}

/* Pages in the file (TIFF may hold many) and the first page's size, before any decoding. */
static int mf__img_check(const char *file, int format, long max_pixels, int *pages, json_t *meta,
                         mf_err *err)
{
    l_int32 fmt = 0, w = 0, h = 0, bps = 0, spp = 0, cmap = 0, n = 1;
    FILE *fp = NULL;
    int rc = 0;

    if (pixReadHeader(file, &fmt, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0) {
        rc = mf_err_set(err, MF_ECORRUPT, "pixReadHeader() failed: unreadable image header");
        goto out;
    }
    if ((double)w * h > (double)max_pixels) {
        rc = mf_err_set(err, MF_ELIMIT, "image is %dx%d, over the limit of %ld megapixels", w, h,
                        max_pixels / 1000000);
        goto out;
    }
    fp = L_FORMAT_IS_TIFF(format) ? fopen(file, "rb") : NULL;
    if (fp != NULL && tiffGetCount(fp, &n) != 0)
        n = 1;
    if (n > MF_DOC_MAX_PAGES) {
        rc = mf_err_set(err, MF_ELIMIT, "TIFF has %d pages, over the limit of %d pages", n,
                        MF_DOC_MAX_PAGES);
        goto out;
    }
    *pages = n;
    json_object_set_new(meta, "pages", json_integer(n));
    json_object_set_new(meta, "width", json_integer(w));
    json_object_set_new(meta, "height", json_integer(h));
out:
    if (fp != NULL)
        fclose(fp);
    return rc;
}

/* Decodes page index (TIFF: from *offset on) and OCRs it into text. */
static int mf__img_page(mf_ocr *ocr, const char *file, int format, size_t *offset, long max_pixels,
                        mf_ocr_text *text, mf_err *err)
{
    PIX *pix = L_FORMAT_IS_TIFF(format) ? pixReadFromMultipageTiff(file, offset) : pixRead(file);
    mf_grey g = {0};
    int rc = 0;

    if (pix == NULL) {
        rc = mf_err_set(err, MF_ECORRUPT, "pixRead() failed: the image cannot be decoded");
        goto out;
    }
    if ((double)pixGetWidth(pix) * pixGetHeight(pix) > (double)max_pixels) {
        rc = mf_err_set(err, MF_ELIMIT, "image page is %dx%d, over the limit of %ld megapixels",
                        pixGetWidth(pix), pixGetHeight(pix), max_pixels / 1000000);
        goto out;
    }
    mf__pix_to_grey(pix, &g);
    rc = mf_ocr_recognize(ocr, &g, text, err);
out:
    mf_grey_close(&g);
    pixDestroy(&pix);
    return rc;
}

/* meta: what mf__img_check() found, plus the format, characters per page and OCR summary. */
static void mf__img_meta(json_t *meta, int format, json_t *chars, int pages, long conf_sum)
{
    json_object_set_new(meta, "format", json_string(getFormatExtension(format)));
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
    size_t offset = 0;
    long conf_sum = 0;
    int64_t start;
    int i, pages = 0, rc;

    mf_textbuf_init(&buf);
    snprintf(file, sizeof(file), "/proc/self/fd/%d", job->fd);
    rc = mf__img_check(file, format, max_pixels, &pages, meta, err);
    if (rc == 0 && searchable)
        rc = mf_ocr_pdf_begin(ocr, job->outdir, err);
    for (i = 0; i < pages && rc == 0; i++) {
        start = mf_clock_mono_ms();
        rc = mf__img_page(ocr, file, format, &offset, max_pixels, &text, err);
        if (rc == 0) /* the per-page budget, as for PDF pages (a TIFF may hold 2,000) */
            rc = mf_pdfdoc_check_page_time(i + 1, mf_clock_mono_ms() - start, MF_DOC_PAGE_SECONDS,
                                           err);
        if (rc < 0)
            goto out;
        mf_pdftext_append_page(&buf, text.text);
        json_array_append_new(chars, json_integer((json_int_t)mf_pdftext_visible(text.text)));
        conf_sum += text.confidence;
        mf_ocr_text_close(&text);
        if (L_FORMAT_IS_TIFF(format) && offset == 0)
            pages = i + 1; /* leptonica says that was the last page */
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
