/* Geometry of displayed pictures: rotation from the display matrix, sample aspect ratio and
 * the output sizes derived from them. Pure functions, unit-tested without FFmpeg. */
#include <math.h>
#include <stdlib.h>

#include "video.h"

/* Nearest integer, halves away from zero; no libm, so the unit test links without it. */
static long mf__round(double v)
{
    return v >= 0 ? (long)(v + 0.5) : -(long)(-v + 0.5);
}

int mf_video_rotation_cw(double ccw_degrees)
{
    double cw;
    long q;

    if (isnan(ccw_degrees) || isinf(ccw_degrees))
        ccw_degrees = 0;
    /* av_display_rotation_get() is counter-clockwise; players turn the picture clockwise by
     * its opposite. Snap to the nearest quarter turn: matrices from phones are exact, others
     * carry rounding noise, and we only bake in right angles. */
    cw = -ccw_degrees;
    q = mf__round(cw / 90.0) % 4;
    if (q < 0)
        q += 4;
    return (int)q * 90;
}

void mf_video_display_size(int w, int h, int sar_num, int sar_den, int rotation_cw, int *dw,
                           int *dh)
{
    long x = w, y = h;

    /* Stretch the short-sampled side, as players do, so no source pixel is thrown away. */
    if (sar_num > 0 && sar_den > 0 && sar_num != sar_den) {
        if (sar_num > sar_den)
            x = mf__round((double)w * sar_num / sar_den);
        else
            y = mf__round((double)h * sar_den / sar_num);
    }
    if (x < 1)
        x = 1;
    if (y < 1)
        y = 1;
    if (x > 65536)
        x = 65536;
    if (y > 65536)
        y = 65536;
    if (rotation_cw == 90 || rotation_cw == 270) {
        *dw = (int)y;
        *dh = (int)x;
    } else {
        *dw = (int)x;
        *dh = (int)y;
    }
}

static int mf__even(double v)
{
    long n = mf__round(v / 2.0) * 2;

    return n < 2 ? 2 : (int)n;
}

void mf_video_fit_even(int dw, int dh, int max_w, int max_h, int *ow, int *oh)
{
    double s = 1.0;

    if (dw < 1)
        dw = 1;
    if (dh < 1)
        dh = 1;
    if (dw > max_w)
        s = (double)max_w / dw;
    if (dh * s > max_h)
        s = (double)max_h / dh;
    *ow = mf__even(dw * s);
    *oh = mf__even(dh * s);
    /* Rounding up to even must not step past the box (an odd max is rounded down). */
    if (*ow > max_w)
        *ow = max_w & ~1;
    if (*oh > max_h)
        *oh = max_h & ~1;
}

/* One signed decimal number of ISO 6709 (we accept decimal degrees, the form phones write). */
static int mf__iso6709_num(const char **p, double *v)
{
    char *end = NULL;
    int rc = -1;

    if (**p != '+' && **p != '-')
        goto out;
    *v = strtod(*p, &end);
    if (end == *p)
        goto out;
    *p = end;
    rc = 0;
out:
    return rc;
}

int mf_video_iso6709(const char *s, double *lat, double *lon)
{
    const char *p = s;
    int rc = -1;

    if (s == NULL || mf__iso6709_num(&p, lat) < 0 || mf__iso6709_num(&p, lon) < 0)
        goto out;
    if (*lat < -90 || *lat > 90 || *lon < -180 || *lon > 180)
        goto out;
    rc = 0;
out:
    return rc;
}
