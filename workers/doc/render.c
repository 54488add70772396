/* Page renders with cairo: PNG thumbnails, and grey rasters for OCR. Every render is bounded
 * by a pixel cap computed from the page size before any pixel is drawn, so a page that claims
 * to be a kilometre wide costs the same as an A4 one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cairo.h>
#include <png.h>
#include "mf/fsutil.h"
#include "doc.h"

/* Largest side cairo accepts for an image surface. */
#define MF__CAIRO_MAX_SIDE 32767
/* A pixel darker than this is ink; a page with fewer ink pixels than MF__INK_MIN_PIXELS (a
 * few specks of dust; a full stop at 300 dpi has ~100) is blank and not worth a recognition. */
#define MF__INK_LEVEL 160
#define MF__INK_MIN_PIXELS 64
/* zlib level of page thumbnails: see mf__png_encode(). */
#define MF__PNG_LEVEL 3

void mf_grey_close(mf_grey *g)
{
    if (g == NULL)
        return;
    free(g->px);
    memset(g, 0, sizeof(*g));
}

/* Scale (pixels per point) so the page fits the wanted scale, max_pixels and cairo's limits. */
static double mf__fit_scale(double w_pt, double h_pt, double scale, long max_pixels)
{
    double area = w_pt * scale * h_pt * scale;

    if (area > (double)max_pixels)
        scale *= sqrt((double)max_pixels / area);
    if (w_pt * scale > MF__CAIRO_MAX_SIDE)
        scale = MF__CAIRO_MAX_SIDE / w_pt;
    if (h_pt * scale > MF__CAIRO_MAX_SIDE)
        scale = MF__CAIRO_MAX_SIDE / h_pt;
    return scale;
}

/* A white surface with the page drawn at scale. NULL (err set) on failure. */
static cairo_surface_t *mf__render(PopplerPage *page, double scale, cairo_format_t fmt, mf_err *err)
{
    double w_pt = 0, h_pt = 0;
    cairo_surface_t *surf = NULL;
    cairo_t *cr = NULL;
    int w, h;

    poppler_page_get_size(page, &w_pt, &h_pt);
    if (!(w_pt >= 1 && h_pt >= 1 && isfinite(w_pt) && isfinite(h_pt) && scale > 0)) {
        mf_err_set(err, MF_ECORRUPT, "rendering failed: the page measures %gx%g pt", w_pt, h_pt);
        goto out;
    }
    w = (int)ceil(w_pt * scale);
    h = (int)ceil(h_pt * scale);
    surf = cairo_image_surface_create(fmt, w, h);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        mf_err_set(err, MF_ELIMIT, "rendering at %dx%d pixels failed: cairo: %s", w, h,
                   cairo_status_to_string(cairo_surface_status(surf)));
        cairo_surface_destroy(surf);
        surf = NULL;
        goto out;
    }
    cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    poppler_page_render(page, cr);
out:
    if (cr != NULL)
        cairo_destroy(cr);
    if (surf != NULL)
        cairo_surface_flush(surf);
    return surf;
}

int mf_render_grey(PopplerPage *page, int dpi, long max_pixels, mf_grey *out, mf_err *err)
{
    double w_pt = 0, h_pt = 0, scale;
    cairo_surface_t *surf = NULL;
    const unsigned char *row;
    uint32_t px;
    int x, y, stride, rc = 0;

    memset(out, 0, sizeof(*out));
    poppler_page_get_size(page, &w_pt, &h_pt);
    scale = mf__fit_scale(w_pt, h_pt, dpi / 72.0, max_pixels);
    surf = mf__render(page, scale, CAIRO_FORMAT_RGB24, err);
    if (surf == NULL) {
        rc = err->code;
        goto out;
    }
    out->width = cairo_image_surface_get_width(surf);
    out->height = cairo_image_surface_get_height(surf);
    out->stride = out->width;
    out->dpi = (int)lround(scale * 72.0);
    out->px = malloc((size_t)out->width * (size_t)out->height);
    if (out->px == NULL)
        abort();
    stride = cairo_image_surface_get_stride(surf);
    for (y = 0; y < out->height; y++) {
        row = cairo_image_surface_get_data(surf) + (size_t)y * (size_t)stride;
        for (x = 0; x < out->width; x++) {
            memcpy(&px, row + 4 * (size_t)x, 4); /* native-endian xRGB */
            /* ITU-R BT.601 luma in fixed point: (77 R + 150 G + 29 B) / 256 */
            out->px[(size_t)y * (size_t)out->width + (size_t)x] =
                (unsigned char)((77 * ((px >> 16) & 0xff) + 150 * ((px >> 8) & 0xff) +
                                 29 * (px & 0xff)) >>
                                8);
        }
    }
out:
    if (surf != NULL)
        cairo_surface_destroy(surf);
    return rc;
}

int mf_grey_is_blank(const mf_grey *g)
{
    size_t x, y, ink = 0;

    for (y = 0; y < (size_t)g->height; y++) {
        for (x = 0; x < (size_t)g->width; x++) {
            ink += g->px[y * (size_t)g->stride + x] < MF__INK_LEVEL;
            if (ink >= MF__INK_MIN_PIXELS)
                return 0;
        }
    }
    return 1;
}

static void mf__png_write(png_structp png, png_bytep data, png_size_t len)
{
    mf_textbuf_append(png_get_io_ptr(png), (const char *)data, len);
}

static void mf__png_flush(png_structp png)
{
}

/* Encodes an RGB24 surface as PNG into out. libpng directly rather than cairo's writer: cairo
 * always compresses at zlib's default level, which made a thumbnail cost more than extracting
 * the text of a hundred pages; level MF__PNG_LEVEL with the "up" filter is ~3x faster and
 * hardly bigger on pages (large flat areas). */
static int mf__png_encode(cairo_surface_t *surf, mf_textbuf *out, mf_err *err)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    unsigned char *data = cairo_image_surface_get_data(surf);
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf), y, rc = 0;
    const uint32_t one = 1;

    if (info == NULL || setjmp(png_jmpbuf(png))) {
        rc =
            mf_err_set(err, MF_ECORRUPT, "encoding the %dx%d thumbnail failed: libpng error", w, h);
        goto out;
    }
    png_set_write_fn(png, out, mf__png_write, mf__png_flush);
    png_set_compression_level(png, MF__PNG_LEVEL);
    png_set_filter(png, 0, PNG_FILTER_UP);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    /* cairo's RGB24 is a native-endian 32-bit xRGB word: bytes B G R x on little-endian */
    if (*(const unsigned char *)&one == 1) {
        png_set_bgr(png);
        png_set_filler(png, 0, PNG_FILLER_AFTER);
    } else {
        png_set_filler(png, 0, PNG_FILLER_BEFORE);
    }
    for (y = 0; y < h; y++)
        png_write_row(png, data + (size_t)y * (size_t)stride);
    png_write_end(png, NULL);
out:
    png_destroy_write_struct(&png, &info);
    return rc;
}

int mf_render_thumb(PopplerPage *page, int size, const char *outdir, const char *name, mf_err *err)
{
    double w_pt = 0, h_pt = 0, scale;
    cairo_surface_t *surf = NULL;
    mf_textbuf png;
    int rc = 0;

    mf_textbuf_init(&png);
    poppler_page_get_size(page, &w_pt, &h_pt);
    scale = w_pt > h_pt ? size / w_pt : size / h_pt;
    scale = mf__fit_scale(w_pt, h_pt, scale, (long)size * size);
    surf = mf__render(page, scale, CAIRO_FORMAT_RGB24, err);
    if (surf == NULL) {
        rc = err->code;
        goto out;
    }
    rc = mf__png_encode(surf, &png, err);
    if (rc < 0)
        goto out;
    rc = mf_fs_write_atomic(outdir, name, png.data, png.len, err);
    if (rc < 0)
        rc = mf__doc_err_prefix(err, rc, "writing %s failed: ", name);
out:
    if (surf != NULL)
        cairo_surface_destroy(surf);
    mf_textbuf_close(&png);
    return rc;
}
