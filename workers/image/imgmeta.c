/* Image metadata beyond the geometry: the ICC profile's name and the EXIF fields people ask
 * about (camera, lens, capture time, exposure, GPS), as readable values.
 *
 * libvips hands EXIF over as one string per tag, "exif-ifd<N>-<Tag>", holding the raw value
 * and, in parentheses, libexif's rendering and the tag's type: "1/250 (1/250 sec., Rational,
 * 1 components, 8 bytes)". We read the raw value and format it ourselves: libexif's
 * renderings change between versions and locales, the raw value does not. IFD 0 is the main
 * image, 2 the EXIF sub-IFD, 3 GPS.
 *
 * Everything here comes from the file, so every value is bounded, validated as UTF-8 before
 * it reaches JSON, and a field that does not parse is left out rather than failing the job. */
#include <glib.h>
#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"

#define MF__EXIF_VALUE_MAX 256

int mf_image_exif_value(const char *s, char *buf, size_t size)
{
    const char *tail = g_strrstr(s, ", ASCII, "), *paren;
    size_t len, v;

    /* ASCII: "V (V, ASCII, ...)": V itself may hold " (", so split by length, not by text. */
    if (tail != NULL) {
        len = (size_t)(tail - s);
        v = len >= 2 ? (len - 2) / 2 : 0;
        if (len >= 2 && (len - 2) % 2 == 0 && memcmp(s + v, " (", 2) == 0 &&
            memcmp(s, s + v + 2, v) == 0)
            goto found;
    }
    paren = strstr(s, " (");
    v = paren != NULL ? (size_t)(paren - s) : strlen(s);
found:
    while (v > 0 && (s[v - 1] == ' ' || s[v - 1] == '\0'))
        v--;
    if (v == 0 || v >= size)
        return -1;
    memcpy(buf, s, v);
    buf[v] = '\0';
    return 0;
}

int mf_image_exif_rationals(const char *value, double *out, int n)
{
    const char *p = value;
    char *end;
    long long num, den;
    int i;

    for (i = 0; i < n; i++) {
        num = strtoll(p, &end, 10);
        if (end == p || *end != '/')
            break;
        p = end + 1;
        den = strtoll(p, &end, 10);
        if (end == p || den == 0)
            break;
        out[i] = (double)num / (double)den;
        p = end;
    }
    return i;
}

void mf_image_exposure_format(double seconds, char *buf, size_t size)
{
    if (seconds > 0 && seconds < 0.5)
        snprintf(buf, size, "1/%.0f", 1.0 / seconds);
    else
        snprintf(buf, size, "%g", round(seconds * 10) / 10);
}

/* The value of one EXIF field, or -1 when the image lacks it or it is unreadable. */
static int mf__exif_get(VipsImage *head, const char *field, char *buf, size_t size)
{
    const char *s = NULL;

    /* libvips replaces a string that is not UTF-8 by this placeholder: not a value either */
    if (vips_image_get_typeof(head, field) == 0 || vips_image_get_string(head, field, &s) != 0 ||
        g_str_has_prefix(s, "<invalid utf-8 string>"))
        return -1;
    if (mf_image_exif_value(s, buf, size) < 0 || !g_utf8_validate(buf, -1, NULL))
        return -1;
    return 0;
}

static void mf__exif_string(VipsImage *head, json_t *exif, const char *key, const char *field)
{
    char v[MF__EXIF_VALUE_MAX];

    if (mf__exif_get(head, field, v, sizeof(v)) == 0)
        json_object_set_new(exif, key, json_string(v));
}

/* A rounded number, so 50.0 mm reads 50 and a latitude keeps 6 decimals (~10 cm). */
static json_t *mf__number(double x, double scale)
{
    double r = round(x * scale) / scale;

    if (r == floor(r) && fabs(r) < 1e15)
        return json_integer((json_int_t)r);
    return json_real(r);
}

static void mf__exif_number(VipsImage *head, json_t *exif, const char *key, const char *field,
                            double scale)
{
    char v[MF__EXIF_VALUE_MAX];
    double x;

    if (mf__exif_get(head, field, v, sizeof(v)) == 0 && mf_image_exif_rationals(v, &x, 1) == 1)
        json_object_set_new(exif, key, mf__number(x, scale));
}

/* "2023:06:01 14:03:22" -> "2023-06-01T14:03:22" (EXIF times carry no zone). */
static void mf__exif_datetime(VipsImage *head, json_t *exif)
{
    char v[MF__EXIF_VALUE_MAX], iso[80];
    int y, mo, d, h, mi, s;

    if (mf__exif_get(head, "exif-ifd2-DateTimeOriginal", v, sizeof(v)) < 0 ||
        sscanf(v, "%4d:%2d:%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6 || mo < 1 || mo > 12 ||
        d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 0 || h < 0 || mi < 0 || s < 0)
        return;
    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, s);
    json_object_set_new(exif, "datetime_original", json_string(iso));
}

static void mf__exif_exposure(VipsImage *head, json_t *exif)
{
    char v[MF__EXIF_VALUE_MAX], text[32];
    double t;
    long iso;
    char *end;

    if (mf__exif_get(head, "exif-ifd2-ExposureTime", v, sizeof(v)) == 0 &&
        mf_image_exif_rationals(v, &t, 1) == 1 && t > 0) {
        mf_image_exposure_format(t, text, sizeof(text));
        json_object_set_new(exif, "exposure", json_string(text));
    }
    if (mf__exif_get(head, "exif-ifd2-ISOSpeedRatings", v, sizeof(v)) == 0 ||
        mf__exif_get(head, "exif-ifd2-PhotographicSensitivity", v, sizeof(v)) == 0) {
        iso = strtol(v, &end, 10);
        if (end != v && iso > 0)
            json_object_set_new(exif, "iso", json_integer(iso));
    }
}

/* One GPS coordinate: degrees, minutes, seconds and its reference, negative when the
 * reference reads neg ("S", "W"; altitude: libvips renders the byte as "Below sea level"). */
static int mf__gps_coord(VipsImage *head, const char *field, const char *neg, double *out)
{
    char name[64], v[MF__EXIF_VALUE_MAX], ref[MF__EXIF_VALUE_MAX];
    double dms[3] = {0, 0, 0};
    int n;

    snprintf(name, sizeof(name), "exif-ifd3-%s", field);
    if (mf__exif_get(head, name, v, sizeof(v)) < 0)
        return -1;
    n = mf_image_exif_rationals(v, dms, 3);
    if (n < 1)
        return -1;
    *out = dms[0] + dms[1] / 60 + dms[2] / 3600;
    snprintf(name, sizeof(name), "exif-ifd3-%sRef", field);
    if (mf__exif_get(head, name, ref, sizeof(ref)) == 0 && g_str_has_prefix(ref, neg))
        *out = -*out;
    return 0;
}

static void mf__exif_gps(VipsImage *head, json_t *exif)
{
    double lat, lon, alt;
    json_t *gps;

    if (mf__gps_coord(head, "GPSLatitude", "S", &lat) < 0 ||
        mf__gps_coord(head, "GPSLongitude", "W", &lon) < 0 || fabs(lat) > 90 || fabs(lon) > 180)
        return;
    gps = json_object();
    json_object_set_new(gps, "lat", mf__number(lat, 1e6));
    json_object_set_new(gps, "lon", mf__number(lon, 1e6));
    if (mf__gps_coord(head, "GPSAltitude", "Below", &alt) == 0)
        json_object_set_new(gps, "alt", mf__number(alt, 10));
    json_object_set_new(exif, "gps", gps);
}

static void mf__meta_exif(VipsImage *head, json_t *meta)
{
    json_t *exif = json_object();

    mf__exif_string(head, exif, "make", "exif-ifd0-Make");
    mf__exif_string(head, exif, "model", "exif-ifd0-Model");
    mf__exif_string(head, exif, "lens", "exif-ifd2-LensModel");
    mf__exif_datetime(head, exif);
    mf__exif_exposure(head, exif);
    mf__exif_number(head, exif, "fnumber", "exif-ifd2-FNumber", 10);
    mf__exif_number(head, exif, "focal_length_mm", "exif-ifd2-FocalLength", 10);
    mf__exif_gps(head, exif);
    if (json_object_size(exif) > 0)
        json_object_set_new(meta, "exif", exif);
    else
        json_decref(exif);
}

/* The embedded ICC profile's description ("sRGB IEC61966-2.1", "U.S. Web Coated (SWOP)
 * v2"), read with lcms2 from the header's blob. */
static void mf__meta_icc(VipsImage *head, json_t *meta)
{
    const void *data = NULL;
    size_t len = 0;
    cmsHPROFILE prof = NULL;
    char desc[MF__EXIF_VALUE_MAX];

    if (vips_image_get_typeof(head, VIPS_META_ICC_NAME) == 0 ||
        vips_image_get_blob(head, VIPS_META_ICC_NAME, &data, &len) != 0 || len == 0 ||
        len > UINT32_MAX)
        goto out;
    prof = cmsOpenProfileFromMem(data, (cmsUInt32Number)len);
    if (prof == NULL ||
        cmsGetProfileInfoASCII(prof, cmsInfoDescription, "en", "US", desc, sizeof(desc)) == 0)
        goto out;
    g_strstrip(desc);
    if (desc[0] != '\0' && g_utf8_validate(desc, -1, NULL))
        json_object_set_new(meta, "icc", json_string(desc));
out:
    if (prof != NULL)
        cmsCloseProfile(prof);
}

void mf_image_meta_read(VipsImage *head, json_t *meta)
{
    mf__meta_icc(head, meta);
    mf__meta_exif(head, meta);
}
