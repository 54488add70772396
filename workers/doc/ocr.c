/* OCR through the tesseract C API (tesseract/capi.h). The model is loaded once per executor
 * (lane init) and reused for every page: loading eng.traineddata costs about as much as
 * recognising a page, which is most of what this lane gains over the tesseract CLI. Pages are
 * handed over as raw 8-bit grey pixels (TessBaseAPISetImage), never as encoded files.
 *
 * Orientation: recognising with OSD (PSM_AUTO_OSD) on every page nearly doubles the cost of a
 * page, and almost every page is upright. So a page is read as it is first; only when that
 * reads poorly does a second engine loaded with osd.traineddata (PSM_OSD_ONLY) say how the page
 * is turned, and the page is read again turned back. Without osd.traineddata the second try is
 * simply the page upside down. The reading with the higher mean confidence wins. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tesseract/capi.h>
#include "doc.h"

/* Mean word confidence under which an upright reading is doubted and the orientation checked.
 * Upright clean text reads at 85-95; upside-down text at 30-60. */
#define MF__OCR_DOUBT_CONF 70
/* OSD confidence needed before a page is turned (tesseract's own CLI prints it; ~2 is weak). */
#define MF__OCR_OSD_MIN_CONF 2.0f
/* Base name of the searchable PDF while it is written; the renderer appends ".pdf". */
#define MF__OCR_PDF_TMP ".searchable.tmp"

struct mf_ocr {
    TessBaseAPI *api;
    TessBaseAPI *osd; /* loaded on first need; osd_failed when it cannot be */
    int osd_failed;
    TessResultRenderer *pdf;
    char *pdf_base; /* outdir/.searchable.tmp.<pid> */
    int pdf_pages;
};

void mf_ocr_pin_threads(char **argv)
{
    /* libgomp (tesseract's LSTM uses OpenMP with explicit thread counts) reads
     * OMP_THREAD_LIMIT from the environment in its constructor; on 2 cores shared with other
     * workers, its threads make a page slower, not faster. The fleet scales with processes. */
    if (getenv("OMP_THREAD_LIMIT") != NULL)
        return;
    if (setenv("OMP_THREAD_LIMIT", "1", 0) < 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on with libgomp's default. */
}

int mf_ocr_new(const char *lang, mf_ocr **out, mf_err *err)
{
    mf_ocr *ocr = calloc(1, sizeof(*ocr));
    int rc = 0;

    if (ocr == NULL)
        abort();
    ocr->api = TessBaseAPICreate();
    /* NULL datapath: $TESSDATA_PREFIX, else the path the distribution compiled in. */
    if (TessBaseAPIInit3(ocr->api, NULL, lang) != 0) {
        rc = mf_err_set(err, MF_ECONFIG,
                        "TessBaseAPIInit3() failed: cannot load the \"%s\" model from %s "
                        "(install tesseract-ocr-%s or set TESSDATA_PREFIX)",
                        lang,
                        TessBaseAPIGetDatapath(ocr->api) != NULL ? TessBaseAPIGetDatapath(ocr->api)
                                                                 : "the default tessdata",
                        lang);
        goto out;
    }
    TessBaseAPISetPageSegMode(ocr->api, PSM_AUTO);
    /* Tesseract otherwise writes diagnostics ("Detected 12 diacritics") to stderr per page. */
    TessBaseAPISetVariable(ocr->api, "debug_file", "/dev/null");
out:
    if (rc < 0) {
        mf_ocr_free(ocr);
        ocr = NULL;
    }
    *out = ocr;
    return rc;
}

void mf_ocr_free(mf_ocr *ocr)
{
    if (ocr == NULL)
        return;
    if (ocr->pdf != NULL)
        mf_ocr_pdf_end(ocr, 0, NULL, NULL);
    if (ocr->osd != NULL) {
        TessBaseAPIEnd(ocr->osd);
        TessBaseAPIDelete(ocr->osd);
    }
    TessBaseAPIEnd(ocr->api);
    TessBaseAPIDelete(ocr->api);
    free(ocr);
}

void mf_ocr_text_close(mf_ocr_text *t)
{
    if (t == NULL)
        return;
    free(t->text);
    memset(t, 0, sizeof(*t));
}

/* dst = src turned clockwise by degrees (90, 180, 270). dst->px is heap. */
static void mf__grey_rotate(const mf_grey *src, int degrees, mf_grey *dst)
{
    size_t x, y, w = (size_t)src->width, h = (size_t)src->height;
    unsigned char v;

    *dst = *src;
    if (degrees != 180) {
        dst->width = src->height;
        dst->height = src->width;
    }
    dst->stride = dst->width;
    dst->px = malloc(w * h);
    if (dst->px == NULL)
        abort();
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            v = src->px[y * (size_t)src->stride + x];
            if (degrees == 180)
                dst->px[(h - 1 - y) * w + (w - 1 - x)] = v;
            else if (degrees == 90)
                dst->px[x * h + (h - 1 - y)] = v;
            else
                dst->px[(w - 1 - x) * h + y] = v;
        }
    }
}

/* One recognition of img as it is. */
static int mf__ocr_read(mf_ocr *ocr, const mf_grey *img, mf_ocr_text *out, mf_err *err)
{
    char *text = NULL;
    int rc = 0;

    TessBaseAPISetImage(ocr->api, img->px, img->width, img->height, 1, img->stride);
    TessBaseAPISetSourceResolution(ocr->api, img->dpi);
    if (TessBaseAPIRecognize(ocr->api, NULL) != 0) {
        rc = mf_err_set(err, MF_ECORRUPT,
                        "OCR failed: tesseract could not recognise the %dx%d page image",
                        img->width, img->height);
        goto out;
    }
    text = TessBaseAPIGetUTF8Text(ocr->api);
    out->text = strdup(text != NULL ? text : "");
    if (out->text == NULL)
        abort();
    out->confidence = TessBaseAPIMeanTextConf(ocr->api);
out:
    if (text != NULL)
        TessDeleteText(text);
    return rc;
}

/* Clockwise degrees that turn img upright, from OSD; 180 when OSD cannot be loaded; 0 when
 * it is unsure. */
static int mf__ocr_orientation(mf_ocr *ocr, const mf_grey *img)
{
    int deg = 0, rc = 180;
    float deg_conf = 0, script_conf = 0;
    const char *script = NULL;

    if (ocr->osd == NULL && !ocr->osd_failed) {
        ocr->osd = TessBaseAPICreate();
        if (TessBaseAPIInit3(ocr->osd, NULL, "osd") != 0) {
            TessBaseAPIDelete(ocr->osd);
            ocr->osd = NULL;
            ocr->osd_failed = 1;
        } else {
            TessBaseAPISetPageSegMode(ocr->osd, PSM_OSD_ONLY);
            TessBaseAPISetVariable(ocr->osd, "debug_file", "/dev/null");
        }
    }
    if (ocr->osd == NULL)
        goto out;
    TessBaseAPISetImage(ocr->osd, img->px, img->width, img->height, 1, img->stride);
    TessBaseAPISetSourceResolution(ocr->osd, img->dpi);
    rc = 0;
    if (TessBaseAPIDetectOrientationScript(ocr->osd, &deg, &deg_conf, &script, &script_conf) &&
        deg_conf >= MF__OCR_OSD_MIN_CONF)
        rc = (360 - deg) % 360; /* deg: how far the page is turned; undo it */
    TessBaseAPIClear(ocr->osd);
out:
    return rc;
}

/* Adds the page just recognised to the searchable PDF. */
static int mf__ocr_pdf_add(mf_ocr *ocr, mf_err *err)
{
    /* No input name: given one, the renderer would read that file from the working directory
     * and embed it; without, it embeds the pixels it recognised. */
    TessBaseAPISetInputName(ocr->api, NULL);
    if (!TessResultRendererAddImage(ocr->pdf, ocr->api))
        return mf_err_set(err, MF_ECORRUPT,
                          "writing searchable.pdf failed: tesseract's PDF renderer refused its "
                          "page %d",
                          ocr->pdf_pages + 1);
    ocr->pdf_pages++;
    return 0;
}

int mf_ocr_recognize(mf_ocr *ocr, const mf_grey *img, mf_ocr_text *out, mf_err *err)
{
    mf_ocr_text turned = {0};
    mf_grey rot = {0};
    int deg, rc;

    memset(out, 0, sizeof(*out));
    rc = mf__ocr_read(ocr, img, out, err);
    if (rc < 0 || out->confidence >= MF__OCR_DOUBT_CONF)
        goto pdf;
    deg = mf__ocr_orientation(ocr, img);
    if (deg == 0)
        goto pdf;
    mf__grey_rotate(img, deg, &rot);
    rc = mf__ocr_read(ocr, &rot, &turned, err);
    if (rc < 0)
        goto pdf;
    if (turned.confidence > out->confidence) {
        mf_ocr_text_close(out);
        *out = turned;
        memset(&turned, 0, sizeof(turned));
        out->rotation = deg;
    } else if (ocr->pdf != NULL) {
        mf_ocr_text_close(&turned);
        rc = mf__ocr_read(ocr, img, &turned, err); /* the PDF takes the engine's last page */
    }
pdf:
    if (rc == 0 && ocr->pdf != NULL)
        rc = mf__ocr_pdf_add(ocr, err);
    mf_ocr_text_close(&turned);
    mf_grey_close(&rot);
    if (rc < 0)
        mf_ocr_text_close(out);
    return rc;
}

int mf_ocr_pdf_begin(mf_ocr *ocr, const char *outdir, mf_err *err)
{
    char base[4096];
    int rc = 0;

    if (snprintf(base, sizeof(base), "%s/%s.%ld", outdir, MF__OCR_PDF_TMP, (long)getpid()) >=
        (int)sizeof(base)) {
        rc = mf_err_sys(err, -ENAMETOOLONG, "writing searchable.pdf: the output folder's path");
        goto out;
    }
    ocr->pdf = TessPDFRendererCreate(base, TessBaseAPIGetDatapath(ocr->api), 0);
    if (ocr->pdf == NULL || !TessResultRendererBeginDocument(ocr->pdf, "")) {
        /* not base: a temporary name with a pid means nothing to a person */
        rc = mf_err_set(err, -EIO,
                        "writing searchable.pdf failed: tesseract's PDF renderer cannot create "
                        "its file in the output folder");
        goto out;
    }
    ocr->pdf_base = strdup(base);
    if (ocr->pdf_base == NULL)
        abort();
    ocr->pdf_pages = 0;
out:
    if (rc < 0 && ocr->pdf != NULL) {
        TessDeleteResultRenderer(ocr->pdf);
        ocr->pdf = NULL;
    }
    return rc;
}

int mf_ocr_pdf_end(mf_ocr *ocr, int keep, const char *name, mf_err *err)
{
    char tmp[4096 + 8], dst[4096];
    const char *slash;
    int ok, rc = 0;

    if (ocr->pdf == NULL)
        return 0;
    ok = TessResultRendererEndDocument(ocr->pdf);
    TessDeleteResultRenderer(ocr->pdf); /* closes the file */
    ocr->pdf = NULL;
    snprintf(tmp, sizeof(tmp), "%s.pdf", ocr->pdf_base);
    if (!keep)
        goto out;
    if (!ok || ocr->pdf_pages == 0) {
        rc = mf_err_set(err, -EIO,
                        "writing searchable.pdf failed: tesseract's PDF renderer could not finish "
                        "it (%d pages)",
                        ocr->pdf_pages);
        goto out;
    }
    slash = strrchr(ocr->pdf_base, '/');
    snprintf(dst, sizeof(dst), "%.*s/%s", (int)(slash - ocr->pdf_base), ocr->pdf_base, name);
    if (rename(tmp, dst) < 0)
        rc = mf_err_sys(err, -errno, "writing searchable.pdf: rename()");
out:
    if (!keep || rc < 0)
        unlink(tmp);
    free(ocr->pdf_base);
    ocr->pdf_base = NULL;
    return rc;
}
