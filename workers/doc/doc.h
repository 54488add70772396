/* The document lane (mf-worker-doc): PDF metadata, text per page, page renders, and OCR of
 * pages without a text layer. Internal to workers/doc; lanes never include each other.
 *
 * Modules: pdfdoc.c (open, encryption, limits, document metadata), textdump.cpp (the text layer
 * as pdftotext prints it), pdftext.c (text buffer, form fields),
 * render.c (cairo renders: thumbnails and OCR rasters), ocr.c (a small interface over the
 * tesseract C API), lane.c (the mf_lane table: one job from open to outputs).
 *
 * Threading: everything here runs in the job executor, one job at a time (see mf/lane.h);
 * nothing is thread-safe and nothing needs to be. */
#ifndef MF_DOC_H
#define MF_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <poppler.h>
#include "mf/err.h"
#include "mf/lane.h"
#include "textdump.h"

/* Lane settings with the reason for each value. They belong in the config table
 * (common/config.c) as doc_* entries; until then they are fixed here. */

/* PDF 2,000 pages (PRODUCT.md): a book is a few hundred; more is a scan dump or a bomb. */
#define MF_DOC_MAX_PAGES 2000
/* Pages rendered to page-NNNN.png: enough for a preview, cheap for a 2,000-page file. */
#define MF_DOC_THUMB_PAGES 3
/* Longest side of a page render in pixels. */
#define MF_DOC_THUMB_SIZE 1024
/* Resolution for OCR: tesseract is trained on ~300 dpi text. */
#define MF_DOC_OCR_DPI 300
/* Pixel cap of one OCR raster (A3 at 300 dpi is 17.4 MP): bigger pages are rendered at a lower
 * resolution so one page never needs more than ~200 MB (RGB24 surface + grey copy). */
#define MF_DOC_OCR_MAX_PIXELS (40L * 1000 * 1000)
/* A page whose text layer has fewer visible characters than this is OCRed: a scan often
 * carries a page number or a scanner's stamp as its only text. */
#define MF_DOC_OCR_MIN_CHARS 16
/* Wall-clock budget of one page, text layer + OCR render + recognition + thumbnail, in seconds.
 * A 300 dpi A4 page takes 2-5 s to render and OCR on one core (bench/doc.sh); 60 s is 10x
 * that, so only a pathological page (a vector bomb, millions of glyphs) reaches it, and 2,000
 * such pages cannot hold an executor for days. poppler cannot be cancelled: the budget is
 * checked between the steps of a page (see mf_pdfdoc_check_page_time()). */
#define MF_DOC_PAGE_SECONDS 60
/* tesseract language. */
#define MF_DOC_OCR_LANG "eng"

extern const mf_lane mf_lane_doc;

/* ---- pdfdoc.c ---- */

/* Puts the formatted prefix before err's message ("page 3: ", "writing text.txt failed: ") so
 * an error says first what failed in a person's terms; returns rc. */
int mf__doc_err_prefix(mf_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Opens the PDF at path (or, when fd >= 0, at /proc/self/fd/<fd>, so a renamed input is still
 * the file that was claimed). *out is the caller's, released with g_object_unref(). Returns 0,
 * MF_ECORRUPT (not a PDF, damaged, truncated, empty: poppler's message), MF_EUNSUPPORTED (user
 * password; or MF_EUNSUPPORTED naming the security handler when the encryption dictionary names
 * one poppler does not have, e.g. /Adobe.PubSec) or -errno, with err set. Errors start with
 * "PDF cannot be opened" / "PDF is ..." and never name the file. */
int mf_pdfdoc_open(const char *path, int fd, PopplerDocument **out, mf_err *err);

/* The name poppler should open: path, or /proc/self/fd/<fd> when fd >= 0 (written into buf).
 * Never put it in an error: a person cannot act on an fd number. */
const char *mf_pdfdoc_file(const char *path, int fd, char *buf, size_t size);

/* After a successful open: MF_EUNSUPPORTED ("PDF is encrypted with a security handler that
 * cannot be opened (...)") when fd's trailer names an encryption dictionary that poppler does
 * not apply (poppler_decrypts 0, from mf_textdump_encrypted(), and the dictionary is not the
 * Identity one) or that names a crypt filter method PDF does not define; else 0. poppler opens
 * such files as if they were not encrypted and reads blank or garbage pages. */
int mf_pdfdoc_check_crypt(int fd, int poppler_decrypts, mf_err *err);

/* MF_ELIMIT naming the limit when n_pages > max_pages, MF_ECORRUPT when the document has no
 * pages; else 0. Decided from the page count before any page is touched. */
int mf_pdfdoc_check_pages(int n_pages, int max_pages, mf_err *err);

/* MF_ELIMIT naming the page (1-based) and the limit when elapsed_ms, the time spent on it so
 * far, is over limit_s seconds; else 0. Called between the steps of a page, so a page is
 * stopped at the first check after its budget ran out (a step itself is not interrupted). */
int mf_pdfdoc_check_page_time(int page, int64_t elapsed_ms, int limit_s, mf_err *err);

/* Document-level metadata: pages, title, author, subject, keywords, creator, producer,
 * created, modified (ISO-8601 UTC), pdf_version, encrypted, linearized, page_size (page 1, in
 * points), language when the XMP metadata names one. fd (may be -1) lets it look for an
 * /Encrypt entry poppler does not expose. Returns a new object (never NULL). */
json_t *mf_pdfdoc_meta(PopplerDocument *doc, int fd);

/* ---- pdftext.c ---- */

/* A growing byte buffer for text.txt. Allocation failure aborts. */
typedef struct mf_textbuf {
    char *data;
    size_t len;
    size_t cap;
} mf_textbuf;

void mf_textbuf_init(mf_textbuf *b);
void mf_textbuf_close(mf_textbuf *b); /* NULL-safe */
void mf_textbuf_append(mf_textbuf *b, const char *s, size_t n);

/* Number of visible (non-space, non-control, not a bidi or zero-width format character) UTF-8
 * characters in s; NULL counts 0. */
size_t mf_pdftext_visible(const char *s);

/* meta.text: the first max_chars UTF-8 characters of text.txt (len bytes), cut at a character
 * boundary, as a new JSON string; NULL when the text is not valid UTF-8. */
#define MF_DOC_META_TEXT_CHARS 1000
json_t *mf_pdftext_excerpt(const char *text, size_t len, size_t max_chars);

/* Appends one page's text the way pdftotext lays it out: the text, a newline unless it ends
 * in one, then a form feed (every page, the last included). A text that ends in a form feed
 * (pdftotext's page, from mf_textdump_page()) is appended as it is. */
void mf_pdftext_append_page(mf_textbuf *b, const char *text);

/* Fields of a filled-in form listed in meta.form_fields: at most this many (a form with more
 * is a generated one; the rest are counted in meta.form_fields_dropped), each name and value
 * cut to MF_DOC_FORM_VALUE_CHARS characters (the whole value is in text.txt when the widget
 * shows it). */
#define MF_DOC_MAX_FORM_FIELDS 1000
#define MF_DOC_FORM_VALUE_CHARS 1000

/* Appends {name, type, value, page} to fields for every widget on page (page_no 1-based), in
 * the page's annotation order, while fields has fewer than max entries. type is "text",
 * "checkbox", "radio", "button", "choice", "signature" or "unknown"; value is the text (text
 * fields, choices: the selected items joined by ", "), true/false (checkbox, radio: whether
 * this widget is on), or null (push buttons, signatures, values that are not UTF-8). name is
 * the fully qualified field name. Returns how many widgets did not fit. */
int mf_pdftext_form_fields(PopplerPage *page, int page_no, json_t *fields, size_t max);

/* ---- render.c ---- */

/* An 8-bit grey raster (0 black, 255 white), rows of stride bytes. */
typedef struct mf_grey {
    unsigned char *px;
    int width;
    int height;
    int stride;
    int dpi; /* the resolution it was rendered at (<= the one asked for: pixel cap) */
} mf_grey;

void mf_grey_close(mf_grey *g); /* frees px; NULL-safe */

/* 1 when g has (almost) no ink: OCR would find nothing and costs as much as on a full page. */
int mf_grey_is_blank(const mf_grey *g);

/* Renders page at dpi (lowered so width * height <= max_pixels) on white, converted to grey.
 * Returns 0, MF_ECORRUPT for a page of no size, or MF_ELIMIT with err set. */
int mf_render_grey(PopplerPage *page, int dpi, long max_pixels, mf_grey *out, mf_err *err);

/* Renders page so its longest side is size pixels, on white, and writes it as a PNG to
 * outdir/name atomically. Returns 0 or an error with err set. */
int mf_render_thumb(PopplerPage *page, int size, const char *outdir, const char *name, mf_err *err);

/* ---- ocr.c ---- */

/* One tesseract engine with its model loaded; made once per executor (lane init). */
typedef struct mf_ocr mf_ocr;

/* The text of one raster. text is heap (free()); confidence is tesseract's mean word
 * confidence 0..100; rotation the degrees the raster was turned before recognition. */
typedef struct mf_ocr_text {
    char *text;
    int confidence;
    int rotation;
} mf_ocr_text;

/* libgomp reads OMP_THREAD_LIMIT once, when it is loaded (before main): called first thing in
 * main(), this sets OMP_THREAD_LIMIT=1 when the environment has none and re-executes the
 * program so libgomp sees it. Returns only when nothing had to be done or exec failed. */
void mf_ocr_pin_threads(char **argv);

/* Loads lang from the system tessdata (or $TESSDATA_PREFIX). Returns 0 or MF_ECONFIG with err
 * naming the missing model. */
int mf_ocr_new(const char *lang, mf_ocr **out, mf_err *err);
void mf_ocr_free(mf_ocr *ocr); /* NULL-safe */

/* Recognises img: at 0 degrees, and when that reads poorly, at the orientation tesseract's OSD
 * detects (upside-down scans); keeps the better. When a searchable PDF is open (see below) the
 * page is added to it. Returns 0 or MF_ECORRUPT with err set. */
int mf_ocr_recognize(mf_ocr *ocr, const mf_grey *img, mf_ocr_text *out, mf_err *err);
void mf_ocr_text_close(mf_ocr_text *t); /* NULL-safe */

/* Starts a searchable PDF (tesseract's PDF renderer: page image + invisible text) written to
 * a temporary name in outdir; every later mf_ocr_recognize() adds a page. */
int mf_ocr_pdf_begin(mf_ocr *ocr, const char *outdir, mf_err *err);
/* Finishes it: with keep, renames it to outdir/name (atomic), else deletes it. */
int mf_ocr_pdf_end(mf_ocr *ocr, int keep, const char *name, mf_err *err);

/* ---- docimage.c ---- */

/* libvips for images of documents (see docimage.c): once per executor, from the lane's
 * init and shutdown. max_decode_mb: image_max_decode_mb (0: the default). */
int mf_docimage_init(int64_t max_decode_mb, mf_err *err);
void mf_docimage_shutdown(void);
/* Non-zero (which accepted format, mf_vips_format_index(): every format the image lane
 * takes) when fd's content is an image this lane reads, else 0 (then it is treated as a
 * PDF). */
int mf_docimage_format(int fd);

/* OCRs every page of the image in job->fd (format from mf_docimage_format()): text.txt, with
 * searchable a searchable.pdf, meta pages/width/height/format/page_chars/ocr. Images over
 * max_pixels (checked from the header) or over MF_DOC_MAX_PAGES pages fail with MF_ELIMIT. */
int mf_docimage_process(const mf_lane_job *job, mf_ocr *ocr, int format, int searchable,
                        long max_pixels, mf_result *res, mf_err *err);

#endif
