/* The doc lane's mf_lane table: one PDF (or image of a document, see docimage.c) from open
 * to outputs.
 *
 * Order of work, cheapest decisions first: open (password, security handler, corruption), the
 * page limit from the page count, document metadata, then page by page: text layer (as
 * pdftotext prints it, form field values included) and the form fields, OCR when the layer is
 * (nearly) empty or the profile asks for it, a thumbnail for the first pages. text.txt and
 * searchable.pdf are written after the last page, so a job killed half-way leaves neither
 * looking complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <vips/vips.h>
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/log.h"
#include "doc.h"

/* The OCR engine: one per executor, made by init, used by every job. */
static mf_ocr *mf__doc_ocr;
/* Pixel limit of an image of a document: the image lane's (image_max_megapixels). */
static long mf__doc_image_max_pixels = 100L * 1000 * 1000;

typedef struct mf__doc_job {
    const mf_lane_job *job;
    PopplerDocument *doc;
    mf_textdump *textdump; /* the same file through poppler-cpp: pdftotext's text */
    int force_ocr;         /* the "ocr" profile: every page, and a searchable PDF */
    mf_textbuf text;
    json_t *page_chars;  /* visible characters per page, after OCR */
    json_t *ocr_pages;   /* numbers (1-based) of the pages that were OCRed */
    json_t *form_fields; /* meta.form_fields: every widget's field, page by page */
    int fields_dropped;  /* widgets beyond MF_DOC_MAX_FORM_FIELDS */
    long conf_sum;
    int recognised; /* OCRed pages that were not blank: the ones conf_sum is over */
    int blank;      /* pages without a text layer that were blank: not recognised */
    int rotated;
} mf__doc_job;

static int mf__doc_init(const mf_config *cfg, mf_err *err)
{
    if (cfg != NULL && cfg->image_max_megapixels > 0)
        mf__doc_image_max_pixels = (long)cfg->image_max_megapixels * 1000 * 1000;
    if (mf_docimage_init(cfg != NULL ? cfg->image_max_decode_mb : 0, err) < 0)
        return MF_ECONFIG;
    return mf_ocr_new(MF_DOC_OCR_LANG, &mf__doc_ocr, err);
}

static void mf__doc_shutdown(void)
{
    mf_docimage_shutdown();
    mf_ocr_free(mf__doc_ocr);
    mf__doc_ocr = NULL;
}

/* OCRs page; on success *text is the page's new text (free()) when it should replace the text
 * layer (forced, or it found more than the layer had), else NULL. */
static int mf__doc_ocr_page(mf__doc_job *dj, PopplerPage *page, int index, size_t layer_chars,
                            char **text, mf_err *err)
{
    mf_grey img = {0};
    mf_ocr_text res = {0};
    int rc;

    *text = NULL;
    rc = mf_render_grey(page, MF_DOC_OCR_DPI, MF_DOC_OCR_MAX_PIXELS, &img, err);
    if (rc < 0)
        goto out;
    json_array_append_new(dj->ocr_pages, json_integer(index + 1));
    if (!dj->force_ocr && mf_grey_is_blank(&img)) { /* the searchable PDF needs every page */
        dj->blank++;
        goto out;
    }
    rc = mf_ocr_recognize(mf__doc_ocr, &img, &res, err);
    if (rc < 0)
        goto out;
    dj->recognised++;
    dj->conf_sum += res.confidence;
    dj->rotated += res.rotation != 0;
    if (dj->force_ocr || mf_pdftext_visible(res.text) > layer_chars) {
        *text = res.text;
        res.text = NULL;
    }
out:
    mf_ocr_text_close(&res);
    mf_grey_close(&img);
    return rc;
}

/* The per-page budget (MF_DOC_PAGE_SECONDS) of the page at index, started at start. */
static int mf__doc_page_time(int index, int64_t start, mf_err *err)
{
    return mf_pdfdoc_check_page_time(index + 1, mf_clock_mono_ms() - start, MF_DOC_PAGE_SECONDS,
                                     err);
}

/* Puts "page N: " before err's message, so every failure of a page says which page. */
static int mf__doc_page_err(int index, int rc, mf_err *err)
{
    if (rc >= 0 || strncmp(err->msg, "page ", 5) == 0)
        return rc;
    return mf__doc_err_prefix(err, rc, "page %d: ", index + 1);
}

static int mf__doc_page(mf__doc_job *dj, int index, mf_result *res, mf_err *err)
{
    int64_t start = mf_clock_mono_ms();
    PopplerPage *page = poppler_document_get_page(dj->doc, index);
    char *layer = NULL, *ocr_text = NULL, name[32];
    const char *text;
    size_t chars;
    int rc = 0;

    if (page == NULL) {
        /* the page count is the root's /Count; poppler stops walking the tree at a loop (a
         * kid pointing back at an ancestor) or a broken node, and the pages after it are gone */
        rc = mf_err_set(err, MF_ECORRUPT,
                        "page %d of %d cannot be read: damaged page tree (a loop, or fewer pages "
                        "than its /Count)",
                        index + 1, poppler_document_get_n_pages(dj->doc));
        goto out;
    }
    rc = mf_textdump_page(dj->textdump, index, &layer, err);
    if (rc < 0)
        goto out;
    dj->fields_dropped +=
        mf_pdftext_form_fields(page, index + 1, dj->form_fields, MF_DOC_MAX_FORM_FIELDS);
    chars = mf_pdftext_visible(layer);
    if (dj->force_ocr || chars < MF_DOC_OCR_MIN_CHARS) {
        rc = mf__doc_page_time(index, start, err); /* before the costly part */
        if (rc == 0)
            rc = mf__doc_ocr_page(dj, page, index, chars, &ocr_text, err);
        if (rc < 0)
            goto out;
    }
    text = ocr_text != NULL ? ocr_text : layer;
    mf_pdftext_append_page(&dj->text, text);
    json_array_append_new(dj->page_chars, json_integer((json_int_t)mf_pdftext_visible(text)));
    if (index < MF_DOC_THUMB_PAGES) {
        snprintf(name, sizeof(name), "page-%04d.png", index + 1);
        rc = mf_render_thumb(page, MF_DOC_THUMB_SIZE, dj->job->outdir, name, err);
        if (rc < 0)
            goto out;
        mf_result_add_output(res, name);
    }
    rc = mf__doc_page_time(index, start, err);
out:
    free(ocr_text);
    free(layer);
    if (page != NULL)
        g_object_unref(page);
    return mf__doc_page_err(index, rc, err);
}

/* meta.ocr: how many pages were read by OCR and how well. */
static void mf__doc_ocr_meta(mf__doc_job *dj, json_t *meta)
{
    size_t n = json_array_size(dj->ocr_pages);

    if (n == 0)
        return;
    json_object_set_new(meta, "ocr",
                        json_pack("{s:i,s:O,s:f,s:i,s:i,s:s}", "pages", (json_int_t)n,
                                  "page_numbers", dj->ocr_pages, "mean_confidence",
                                  dj->recognised > 0 ? (double)dj->conf_sum / dj->recognised : 0.0,
                                  "blank_pages", dj->blank, "rotated_pages", dj->rotated,
                                  "language", MF_DOC_OCR_LANG));
}

static int mf__doc_pages(mf__doc_job *dj, int n_pages, mf_result *res, mf_err *err)
{
    int i, rc = 0;

    if (dj->force_ocr) {
        rc = mf_ocr_pdf_begin(mf__doc_ocr, dj->job->outdir, err);
        if (rc < 0)
            goto out;
    }
    for (i = 0; i < n_pages && rc == 0; i++) {
        rc = mf__doc_page(dj, i, res, err);
        mf_lane_progress(dj->job, (double)(i + 1) / n_pages); /* pages (text, render, OCR) */
    }
    if (rc < 0)
        goto out;
    rc = mf_fs_write_atomic(dj->job->outdir, "text.txt", dj->text.data, dj->text.len, err);
    if (rc < 0) {
        mf__doc_err_prefix(err, rc, "writing text.txt failed: ");
        goto out;
    }
    mf_result_add_output(res, "text.txt");
    json_object_set_new(res->meta, "text",
                        mf_pdftext_excerpt(dj->text.data, dj->text.len, MF_DOC_META_TEXT_CHARS));
    if (dj->force_ocr) {
        rc = mf_ocr_pdf_end(mf__doc_ocr, 1, "searchable.pdf", err);
        if (rc == 0)
            mf_result_add_output(res, "searchable.pdf");
        if (rc == 0)
            mf_result_output_info(res, "searchable.pdf", "pages", json_integer(n_pages));
    }
out:
    mf_ocr_pdf_end(mf__doc_ocr, 0, NULL, NULL); /* no-op unless a failure left it open */
    return rc;
}

static int mf__doc_process(const mf_lane_job *job, mf_result *res, mf_err *err)
{
    mf__doc_job dj = {0};
    json_t *meta = NULL;
    char file[64];
    int n_pages, rc, format;

    dj.job = job;
    dj.force_ocr = job->profile != NULL && strcmp(job->profile, "ocr") == 0;
    mf_textbuf_init(&dj.text);
    dj.page_chars = json_array();
    dj.ocr_pages = json_array();
    dj.form_fields = json_array();
    format = mf_docimage_format(job->fd);
    if (format != 0) {
        rc = mf_docimage_process(job, mf__doc_ocr, format, dj.force_ocr, mf__doc_image_max_pixels,
                                 res, err);
        goto out;
    }
    rc = mf_pdfdoc_open(job->path, job->fd, &dj.doc, err);
    if (rc == 0)
        rc = mf_textdump_open(mf_pdfdoc_file(job->path, job->fd, file, sizeof(file)), &dj.textdump,
                              err);
    if (rc == 0)
        rc = mf_pdfdoc_check_crypt(job->fd, mf_textdump_encrypted(dj.textdump), err);
    if (rc < 0)
        goto out;
    n_pages = poppler_document_get_n_pages(dj.doc);
    rc = mf_pdfdoc_check_pages(n_pages, MF_DOC_MAX_PAGES, err);
    if (rc < 0)
        goto out;
    meta = mf_pdfdoc_meta(dj.doc, job->fd);
    rc = mf__doc_pages(&dj, n_pages, res, err);
    if (rc < 0)
        goto out;
    json_object_set(meta, "page_chars", dj.page_chars);
    if (json_array_size(dj.form_fields) > 0)
        json_object_set(meta, "form_fields", dj.form_fields);
    if (dj.fields_dropped > 0)
        json_object_set_new(meta, "form_fields_dropped", json_integer(dj.fields_dropped));
    mf__doc_ocr_meta(&dj, meta);
    json_object_update(res->meta, meta);
out:
    json_decref(meta);
    json_decref(dj.page_chars);
    json_decref(dj.ocr_pages);
    json_decref(dj.form_fields);
    mf_textdump_free(dj.textdump);
    mf_textbuf_close(&dj.text);
    if (dj.doc != NULL)
        g_object_unref(dj.doc);
    return rc;
}

/* meta.provenance.libraries: PDF text and renders, OCR engine and its model. */
static void mf__doc_provenance(json_t *libs)
{
    json_object_set_new(libs, "poppler", json_string(poppler_get_version()));
    json_object_set_new(libs, "tesseract", json_string(TessVersion()));
    json_object_set_new(libs, "tesseract_model", json_string(MF_DOC_OCR_LANG));
    json_object_set_new(libs, "libvips", json_string(vips_version_string()));
}

const mf_lane mf_lane_doc = {
    .name = "doc",
    .init = mf__doc_init,
    .process = mf__doc_process,
    .shutdown = mf__doc_shutdown,
    .provenance = mf__doc_provenance,
};
