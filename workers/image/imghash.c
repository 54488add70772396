/* The perceptual hash: 64 bits that stay nearly the same when an image is rescaled,
 * recompressed or slightly retouched, so near-duplicates are a small Hamming distance apart.
 *
 * DCT pHash as Python's imagehash.phash defines it: 32x32 grey, 2-D DCT-II, the 8x8 lowest
 * frequencies, one bit per coefficient (above their median or not), row-major, first bit
 * highest. The resampling differs from PIL's, so hashes of the same file agree with
 * imagehash's to within a few bits, not exactly. Computed from the largest output already in
 * memory: no second decode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"

#define MF__N MF_IMAGE_PHASH_SIDE
#define MF__K 8
#define MF__PI 3.14159265358979323846

static int mf__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

uint64_t mf_image_phash_grey(const float *px)
{
    double c[MF__K][MF__N], rows[MF__N][MF__K], d[MF__K * MF__K], sorted[MF__K * MF__K], med;
    uint64_t hash = 0;
    int u, v, x, y;

    for (u = 0; u < MF__K; u++)
        for (x = 0; x < MF__N; x++)
            c[u][x] = cos(MF__PI * u * (2 * x + 1) / (2.0 * MF__N));
    /* Separable: along each row first, then down each of the 8 kept columns. */
    for (y = 0; y < MF__N; y++)
        for (v = 0; v < MF__K; v++) {
            rows[y][v] = 0;
            for (x = 0; x < MF__N; x++)
                rows[y][v] += px[y * MF__N + x] * c[v][x];
        }
    for (u = 0; u < MF__K; u++)
        for (v = 0; v < MF__K; v++) {
            d[u * MF__K + v] = 0;
            for (y = 0; y < MF__N; y++)
                d[u * MF__K + v] += c[u][y] * rows[y][v];
        }
    /* The median of the 63 AC terms: the DC term (the mean brightness) is far above all of
     * them and would only shift the threshold. */
    memcpy(sorted, d + 1, sizeof(d) - sizeof(d[0]));
    qsort(sorted, MF__K * MF__K - 1, sizeof(double), mf__cmp_double);
    med = sorted[(MF__K * MF__K - 1) / 2];
    for (u = 0; u < MF__K * MF__K; u++)
        hash = (hash << 1) | (d[u] > med);
    return hash;
}

/* img -> 32x32 one-band float grey, as a new image. Float, not uchar: rounding the 1,024
 * averages to whole levels moved low-contrast pictures' hashes by several bits. */
static int mf__phash_grey_image(VipsImage *img, VipsImage **out)
{
    VipsImage *t[4] = {NULL, NULL, NULL, NULL}, *cur = img;
    int rc = 0;

    *out = NULL;
    if (vips_image_hasalpha(cur)) {
        rc = vips_flatten(cur, &t[0], NULL);
        cur = t[0];
    }
    if (rc == 0) {
        rc = vips_colourspace(cur, &t[1], VIPS_INTERPRETATION_B_W, NULL);
        cur = t[1];
    }
    if (rc == 0) {
        rc = vips_cast_float(cur, &t[2], NULL);
        cur = t[2];
    }
    if (rc == 0)
        rc = vips_resize(cur, &t[3], (double)MF__N / cur->Xsize, "vscale",
                         (double)MF__N / cur->Ysize, NULL);
    if (rc == 0) {
        *out = t[3];
        t[3] = NULL;
    }
    for (int i = 0; i < 4; i++)
        if (t[i] != NULL)
            g_object_unref(t[i]);
    return rc;
}

int mf_image_phash(VipsImage *img, uint64_t *hash, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];
    VipsImage *grey = NULL;
    float *px = NULL;
    size_t len = 0;
    int rc = 0;

    if (mf__phash_grey_image(img, &grey) != 0) {
        rc = mf_err_set(err, MF_ECORRUPT, "perceptual hash: %s", mf_vips_error(why, sizeof(why)));
        goto out;
    }
    if (grey->Xsize != MF__N || grey->Ysize != MF__N || grey->Bands != 1) {
        rc = mf_err_set(err, MF_ECORRUPT, "perceptual hash: grey image is %dx%dx%d, not %dx%dx1",
                        grey->Xsize, grey->Ysize, grey->Bands, MF__N, MF__N);
        goto out;
    }
    px = vips_image_write_to_memory(grey, &len);
    if (px == NULL || len != MF__N * MF__N * sizeof(float)) {
        rc = mf_err_set(err, MF_ECORRUPT, "perceptual hash: %s", mf_vips_error(why, sizeof(why)));
        goto out;
    }
    *hash = mf_image_phash_grey(px);
out:
    g_free(px);
    if (grey != NULL)
        g_object_unref(grey);
    return rc;
}
