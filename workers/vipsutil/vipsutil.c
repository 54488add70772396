/* libvips for untrusted input (mf/vipsutil.h).
 *
 * Which decoders read uploads, and why each is safe enough:
 * - libvips' own trusted loaders: JPEG (libjpeg-turbo), PNG (libspng), WebP (libwebp), GIF
 *   (libnsgif), TIFF (libtiff), HEIF/AVIF (libheif with libde265/dav1d). All are fuzzed
 *   continuously on OSS-Fuzz, libvips' loaders with them (libvips' own fuzz targets), and
 *   libvips marks them safe for untrusted input.
 * - JPEG 2000: libvips' jp2kload over OpenJPEG 2.5 (OSS-Fuzz since 2017, Debian security
 *   updates); JPEG XL: jxlload over libjxl (OSS-Fuzz from its start). libvips flags both
 *   "untrusted" only because its own fuzzers do not cover them, so they are unblocked one by
 *   one (vips_operation_block_set), not with every other untrusted loader.
 * - PBM/PGM/PPM: libvips' ppmload, a few hundred lines parsing a text header and raw or
 *   ASCII samples into a buffer sized from that header (checked here first); no library.
 * - BMP, ICO, PSD: libvips has no loader of its own; ImageMagick's coders read them
 *   (OSS-Fuzz fuzzes ImageMagick's readers one by one; Debian backports its fixes into 6.9).
 *   magickload stays blocked except for the one call that loads a file our own signature
 *   check (mf__sniff_magick) found to be one of the three, and ImageMagick is told the coder
 *   ("BMP:file"), so the content cannot reach any other coder or delegate (MVG, MSL, SVG,
 *   PostScript...). The dimensions come from the header and pass the pixel and memory limits
 *   before a pixel is decoded.
 * - Everything else libvips could read (ImageMagick for the rest, PDF, SVG, FITS, matrix,
 *   OpenSlide, raw, vips) stays blocked: vips_block_untrusted_set().
 * The executor that calls them is a separate process with a memory cap and a timeout, so a
 * decoder that crashes or runs away costs one job, never the worker. */
#include "mf/vipsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libheif/heif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#include "mf/log.h"

/* JPEG 2000 is direct: libvips 8.14's vips_thumbnail() picks a resolution level far below
 * the size asked (a 20x15 thumbnail of a 640x480 JP2 for 256 px). */
static const mf_vips_format mf__formats[] = {
    /* name, loader, magick coder, pages, whole, direct */
    {"jpeg", "jpegload", NULL, 0, 0, 0},   {"png", "pngload", NULL, 0, 0, 0},
    {"webp", "webpload", NULL, 1, 1, 0},   {"gif", "gifload", NULL, 1, 1, 0},
    {"tiff", "tiffload", NULL, 1, 0, 0},   {"heif", "heifload", NULL, 1, 1, 1},
    {"jp2k", "jp2kload", NULL, 0, 1, 1},   {"jxl", "jxlload", NULL, 0, 1, 0},
    {"pnm", "ppmload", NULL, 0, 0, 0},     {"bmp", "magickload", "BMP", 0, 1, 1},
    {"ico", "magickload", "ICO", 0, 1, 1}, {"psd", "magickload", "PSD", 0, 1, 1},
};
#define MF__NFORMATS (int)(sizeof(mf__formats) / sizeof(mf__formats[0]))

/* libvips loaders flagged untrusted that we take anyway (see the top of the file). */
static const char *const mf__unblocked[] = {"VipsForeignLoadJp2k", "VipsForeignLoadJxl",
                                            "VipsForeignLoadPpm"};

/* The last decoder warning of the current job: libspng, libtiff and others often say why
 * in a warning and leave the error buffer empty. One executor runs one job at a time. */
static char mf__warning[256];

/* Copies s into buf without "/proc/self/fd/N" (our way of handing libvips a file): a path
 * tells the user nothing and leaks how the worker runs. libtiff's " at scanline 4294967295"
 * (the row -1, "no row in particular") goes too. */
static void mf__scrub(char *buf, size_t size, const char *s, size_t len)
{
    static const char fdpath[] = "/proc/self/fd/", norow[] = " at scanline 4294967295";
    size_t o = 0, i = 0, n = sizeof(fdpath) - 1;

    while (i < len && o + 1 < size) {
        if (len - i >= sizeof(norow) - 1 && memcmp(s + i, norow, sizeof(norow) - 1) == 0) {
            i += sizeof(norow) - 1;
            continue;
        }
        if (len - i > n && memcmp(s + i, fdpath, n) == 0) {
            i += n;
            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
            if (o + 4 < size) {
                memcpy(buf + o, "file", 4);
                o += 4;
            }
            continue;
        }
        buf[o++] = s[i++];
    }
    buf[o] = '\0';
}

const char *mf_vips_error(char *buf, size_t size)
{
    const char *p = vips_error_buffer(), *nl;
    char line[512];
    size_t len, o = 0, llen;
    int seen;

    buf[0] = '\0';
    while (*p != '\0') {
        nl = strchr(p, '\n');
        len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        mf__scrub(line, sizeof(line), p, len);
        llen = strlen(line);
        seen = o > 0 && memmem(buf, o, line, llen) != NULL;
        if (llen > 0 && !seen && o + llen + 3 < size)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o > 0 ? "; " : "", line);
        p += len + (nl != NULL ? 1 : 0);
    }
    vips_error_clear();
    /* libpng's "IDAT: CRC error" comes as a warning before the error "libpng read error" */
    if (o > 0 && mf__warning[0] != '\0' &&
        memmem(buf, o, mf__warning, strlen(mf__warning)) == NULL &&
        o + strlen(mf__warning) + 3 < size)
        snprintf(buf + o, size - o, " (%s)", mf__warning);
    else if (o == 0 && mf__warning[0] != '\0')
        snprintf(buf, size, "%s", mf__warning);
    else if (o == 0)
        snprintf(buf, size, "no reason given by the decoder");
    mf__warning[0] = '\0';
    return buf;
}

/* GLib warnings from libvips ("error in tile 0 x 32") are decoder chatter: the error that
 * matters reaches the record. Keep them out of stderr unless debugging, but remember the
 * last one that says more than where it happened. */
static void mf__vips_glog(const gchar *domain, GLogLevelFlags level, const gchar *message,
                          gpointer user)
{
    char q[512];

    (void)user;
    if (message != NULL && !g_str_has_prefix(message, "error in tile"))
        mf__scrub(mf__warning, sizeof(mf__warning), message, strlen(message));
    mf_log(level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR) ? MF_LOG_WARN : MF_LOG_DEBUG,
           "domain=%s msg=%s", domain != NULL ? domain : "-", mf_log_quote(q, sizeof(q), message));
}

int mf_vips_init(const char *prog, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];
    size_t i;

    if (VIPS_INIT(prog) != 0)
        return mf_err_set(err, MF_ECONFIG, "vips_init() failed: %s",
                          mf_vips_error(why, sizeof(why)));
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL,
                      mf__vips_glog, NULL);
    vips_block_untrusted_set(TRUE);
    for (i = 0; i < sizeof(mf__unblocked) / sizeof(mf__unblocked[0]); i++)
        vips_operation_block_set(mf__unblocked[i], FALSE);
    vips_cache_set_max(0);
    /* One thread: the fleet scales by processes. Measured on 2 cores, 16 4000x3000 JPEGs:
     * 2 workers x 1 thread took ~35% less time than 1 worker x 2 threads, which was no faster
     * than 1 x 1 (WebP encoding, most of the work, is single-threaded). VIPS_CONCURRENCY in
     * the environment still overrides. */
    if (getenv("VIPS_CONCURRENCY") == NULL)
        vips_concurrency_set(1);
    return 0;
}

int mf_vips_format_index(const mf_vips_format *f)
{
    return f != NULL ? (int)(f - mf__formats) + 1 : 0;
}

const mf_vips_format *mf_vips_format_at(int index)
{
    return index >= 1 && index <= MF__NFORMATS ? &mf__formats[index - 1] : NULL;
}

static uint32_t mf__le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static unsigned mf__le16(const unsigned char *b)
{
    return (unsigned)b[0] | (unsigned)b[1] << 8;
}

/* Reads the first size bytes of path into b; returns how many. */
static size_t mf__head(const char *path, unsigned char *b, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    ssize_t n = -1;

    if (fd >= 0) {
        n = pread(fd, b, size, 0);
        close(fd);
    }
    return n > 0 ? (size_t)n : 0;
}

/* The ImageMagick-only formats, by their signature: BMP (any DIB header of the Windows and
 * OS/2 versions), ICO (a plausible first directory entry, libmagic's own test), PSD/PSB. */
static const char *mf__sniff_magick(const char *path)
{
    unsigned char b[32];
    size_t n = mf__head(path, b, sizeof(b));
    uint32_t dib;

    if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
        dib = mf__le32(b + 14);
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 ||
            dib == 124)
            return "BMP";
    }
    if (n >= 22 && mf__le16(b) == 0 && mf__le16(b + 2) == 1 && mf__le16(b + 4) >= 1 && b[9] == 0 &&
        mf__le16(b + 10) <= 1)
        return "ICO";
    if (n >= 26 && memcmp(b, "8BPS", 4) == 0 && b[4] == 0 && (b[5] == 1 || b[5] == 2))
        return "PSD";
    return NULL;
}

/* libvips' own formats by their signature alone, for a file whose header is too damaged for
 * the loader's own test (a TIFF cut before its first directory): it is still that format,
 * and its loader's error says what is wrong, where "unsupported format" would mislead. */
static const char *mf__sniff_native(const char *path)
{
    static const struct {
        const char *loader;
        size_t off, len;
        const char *sig;
    } sigs[] = {
        {"jpegload", 0, 3, "\xff\xd8\xff"},
        {"pngload", 0, 8, "\x89PNG\r\n\x1a\n"},
        {"gifload", 0, 4, "GIF8"},
        {"webpload", 8, 4, "WEBP"},
        {"tiffload", 0, 4, "II*\0"},
        {"tiffload", 0, 4, "MM\0*"},
        {"tiffload", 0, 4, "II+\0"},
        {"tiffload", 0, 4, "MM\0+"},
        {"heifload", 4, 8, "ftypheic"},
        {"heifload", 4, 8, "ftypheix"},
        {"heifload", 4, 8, "ftypmif1"},
        {"heifload", 4, 8, "ftypavif"},
        {"jp2kload", 0, 12, "\0\0\0\x0cjP  \r\n\x87\n"},
        {"jp2kload", 0, 4, "\xff\x4f\xff\x51"},
        {"jxlload", 0, 2, "\xff\x0a"},
        {"jxlload", 0, 12, "\0\0\0\x0cJXL \r\n\x87\n"},
    };
    unsigned char b[16];
    size_t n = mf__head(path, b, sizeof(b)), i;

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (n >= sigs[i].off + sigs[i].len &&
            memcmp(b + sigs[i].off, sigs[i].sig, sigs[i].len) == 0)
            return sigs[i].loader;
    return NULL;
}

const mf_vips_format *mf_vips_format_find(const char *path)
{
    const char *cls = vips_foreign_find_load(path), *nick = NULL, *coder;
    int i;

    vips_error_clear();    /* "/proc/self/fd/7 is not a known file format" helps nobody */
    mf__warning[0] = '\0'; /* a new file: an earlier one's warning says nothing of it */
    if (cls != NULL)
        nick = vips_nickname_find(g_type_from_name(cls));
    if (nick == NULL || g_str_has_prefix(nick, "magick"))
        nick = mf__sniff_native(path);
    for (i = 0; nick != NULL && i < MF__NFORMATS; i++)
        if (mf__formats[i].magick == NULL && strcmp(nick, mf__formats[i].loader) == 0)
            return &mf__formats[i];
    coder = mf__sniff_magick(path);
    for (i = 0; coder != NULL && i < MF__NFORMATS; i++)
        if (mf__formats[i].magick != NULL && strcmp(coder, mf__formats[i].magick) == 0)
            return &mf__formats[i];
    return NULL;
}

/* The largest icon of an ICO (ImageMagick reads them all, in file order; a thumbnail wants
 * the biggest, whatever the order). */
static int mf__ico_page(const char *path)
{
    unsigned char b[6 + 64 * 16];
    size_t n = mf__head(path, b, sizeof(b));
    unsigned count, i, w, h, best = 0, best_px = 0;

    count = n >= 6 ? mf__le16(b + 4) : 0;
    for (i = 0; i < count && 6 + (i + 1) * 16 <= n; i++) {
        w = b[6 + i * 16] != 0 ? b[6 + i * 16] : 256;
        h = b[6 + i * 16 + 1] != 0 ? b[6 + i * 16 + 1] : 256;
        if (w * h > best_px) {
            best_px = w * h;
            best = i;
        }
    }
    return (int)best;
}

/* magickload with the coder pinned and the loader unblocked for this call only. */
static VipsImage *mf__magick(const char *path, const mf_vips_format *f, int page)
{
    char name[96];
    VipsImage *img = NULL;

    snprintf(name, sizeof(name), "%s:%s", f->magick, path);
    if (strcmp(f->magick, "ICO") == 0)
        page = mf__ico_page(path);
    vips_operation_block_set("VipsForeignLoadMagick", FALSE);
    if (vips_magickload(name, &img, "page", page, "n", 1, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0)
        img = NULL;
    vips_operation_block_set("VipsForeignLoadMagick", TRUE);
    return img;
}

int mf_vips_open(const char *path, const mf_vips_format *f, VipsImage **head, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];

    *head = NULL;
    /* the loader by name: the file may be one whose header only its signature still tells */
    if (f->magick != NULL)
        *head = mf__magick(path, f, 0);
    else if (vips_call(f->loader, path, head, "access", VIPS_ACCESS_SEQUENTIAL, NULL) != 0)
        *head = NULL;
    if (*head == NULL)
        return mf_err_set(err, MF_ECORRUPT, "cannot read the %s header: %s", f->name,
                          mf_vips_error(why, sizeof(why)));
    return 0;
}

/* A libheif failure in the user's terms, then libheif's words and codes. */
static int mf__heif_fail(const char *what, struct heif_error e, mf_err *err)
{
    return mf_err_set(err, MF_ECORRUPT, "cannot decode the heif image (%s): %s (libheif %d.%d)",
                      what, e.message != NULL ? e.message : "no reason given", (int)e.code,
                      (int)e.subcode);
}

/* The decoded heif image into a new memory VipsImage: 8-bit RGB(A) rows, its ICC profile. */
static VipsImage *mf__heif_to_vips(const struct heif_image_handle *h, const struct heif_image *img)
{
    int w = heif_image_get_width(img, heif_channel_interleaved);
    int ht = heif_image_get_height(img, heif_channel_interleaved);
    int bands = heif_image_handle_has_alpha_channel(h) ? 4 : 3, stride = 0, y;
    const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    VipsImage *m = vips_image_new_memory();
    size_t icc_len = heif_image_handle_get_raw_color_profile_size(h);
    void *icc;

    vips_image_init_fields(m, w, ht, bands, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
    if (px == NULL || vips_image_write_prepare(m) != 0) {
        g_object_unref(m);
        return NULL;
    }
    for (y = 0; y < ht; y++)
        memcpy(VIPS_IMAGE_ADDR(m, 0, y), px + (size_t)y * (size_t)stride, (size_t)w * bands);
    if (icc_len > 0) {
        icc = g_malloc(icc_len);
        if (heif_image_handle_get_raw_color_profile(h, icc).code == heif_error_Ok)
            vips_image_set_blob_copy(m, VIPS_META_ICC_NAME, icc, icc_len);
        g_free(icc);
    }
    return m;
}

/* HEIF and AVIF through libheif itself: libvips 8.14 decodes the embedded thumbnail instead
 * of the primary image when it can, without the primary's mirror, and fails ("bad image
 * dimensions on decode") where libheif's cropped size and its own disagree. libheif applies
 * clap, irot and imir in the file's order, exactly as heif-convert shows the image. */
static int mf__heif_load(const char *path, int page, VipsImage **out, mf_err *err)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *h = NULL;
    struct heif_image *img = NULL;
    struct heif_error e;
    heif_item_id ids[64];
    int n, rc = 0;

    /* one thread per process, as libvips (mf_vips_init): grid tiles decoded in turn */
    heif_context_set_max_decoding_threads(ctx, 0);
    e = heif_context_read_from_file(ctx, path, NULL);
    if (e.code != heif_error_Ok) {
        rc = mf__heif_fail("container", e, err);
        goto out;
    }
    n = heif_context_get_list_of_top_level_image_IDs(ctx, ids, 64);
    e = page == 0  ? heif_context_get_primary_image_handle(ctx, &h)
        : page < n ? heif_context_get_image_handle(ctx, ids[page], &h)
                   : (struct heif_error){heif_error_Usage_error, heif_suberror_Unspecified,
                                         "no such image"};
    if (e.code != heif_error_Ok) {
        rc = mf__heif_fail("image item", e, err);
        goto out;
    }
    e = heif_decode_image(h, &img, heif_colorspace_RGB,
                          heif_image_handle_has_alpha_channel(h) ? heif_chroma_interleaved_RGBA
                                                                 : heif_chroma_interleaved_RGB,
                          NULL);
    if (e.code != heif_error_Ok) {
        rc = mf__heif_fail("pixels", e, err);
        goto out;
    }
    *out = mf__heif_to_vips(h, img);
    if (*out == NULL)
        rc = mf_err_set(err, MF_ECORRUPT, "cannot decode the heif image (pixels): no image data");
out:
    if (img != NULL)
        heif_image_release(img);
    if (h != NULL)
        heif_image_handle_release(h);
    heif_context_free(ctx);
    return rc;
}

int mf_vips_load(const char *path, const mf_vips_format *f, int page, VipsImage **out, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];

    *out = NULL;
    if (strcmp(f->loader, "heifload") == 0)
        return mf__heif_load(path, page, out, err);
    if (f->magick != NULL)
        *out = mf__magick(path, f, page);
    else if (f->pages && page > 0 &&
             vips_call(f->loader, path, out, "page", page, "fail_on", VIPS_FAIL_ON_ERROR, NULL) !=
                 0)
        *out = NULL;
    else if ((!f->pages || page == 0) &&
             vips_call(f->loader, path, out, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0)
        *out = NULL;
    if (*out == NULL)
        return mf_err_set(err, MF_ECORRUPT, "cannot decode the %s image: %s", f->name,
                          mf_vips_error(why, sizeof(why)));
    return 0;
}

/* Bytes per sample of the decoded image. */
static int mf__sample_bytes(VipsImage *head)
{
    size_t s = vips_format_sizeof(vips_image_get_format(head));

    return s > 0 ? (int)s : 1;
}

int64_t mf_vips_decode_bytes(VipsImage *head, const mf_vips_format *f, int frames, int keep_whole)
{
    int64_t px = (int64_t)vips_image_get_width(head) * vips_image_get_height(head);
    int64_t bands = vips_image_get_bands(head), bps = mf__sample_bytes(head), n = 0;
    const char *sub = NULL;
    int interlaced = 0;

    if (vips_image_get_typeof(head, "interlaced") != 0)
        (void)vips_image_get_int(head, "interlaced", &interlaced);
    if (strcmp(f->loader, "pngload") == 0 && interlaced)
        n = px * bands * bps; /* libspng decodes every Adam7 pass into one whole image */
    else if (strcmp(f->loader, "jpegload") == 0 && vips_image_get_typeof(head, "jpeg-multiscan") &&
             vips_image_get_int(head, "jpeg-multiscan", &interlaced) == 0 && interlaced) {
        /* progressive: libjpeg keeps every DCT coefficient (2 bytes), whatever the shrink */
        n = px * 2 * bands;
        if (vips_image_get_typeof(head, "jpeg-chroma-subsample") &&
            vips_image_get_string(head, "jpeg-chroma-subsample", &sub) == 0 &&
            strcmp(sub, "4:2:0") == 0 && bands >= 3)
            n = px * 2 + px * 2 * (bands - 1) / 4;
    } else if (strcmp(f->loader, "gifload") == 0)
        n = px * 4 * 2; /* libnsgif: the frame and the one before it, RGBA */
    else if (strcmp(f->loader, "heifload") == 0)
        /* libheif's YCbCr planes, its RGB(A) conversion and our copy of it, alive together */
        n = px * 3 / 2 * bps + px * bands * 2;
    else if (strcmp(f->loader, "jp2kload") == 0)
        n = px * bands * 4; /* OpenJPEG holds 32-bit samples */
    else if (f->magick != NULL)
        n = px * 4 * 2 + px * bands * bps; /* ImageMagick's Q16 RGBA cache, then our copy */
    else if (f->whole)
        n = px * bands * bps;
    if (f->whole && frames > 1 && strcmp(f->loader, "gifload") != 0)
        n *= frames;
    if (keep_whole)
        n += px * bands * bps * (frames > 1 ? frames : 1);
    return n;
}

int mf_vips_check_budget(VipsImage *head, const mf_vips_format *f, int frames, int keep_whole,
                         int64_t budget_mb, mf_err *err)
{
    int64_t need = mf_vips_decode_bytes(head, f, frames, keep_whole);
    int interlaced = 0;
    const char *how = "";

    if (need <= budget_mb * 1024 * 1024)
        return 0;
    if (vips_image_get_typeof(head, "interlaced") != 0)
        (void)vips_image_get_int(head, "interlaced", &interlaced);
    if (interlaced && strcmp(f->loader, "pngload") == 0)
        how = ", interlaced: decoded whole";
    else if (f->whole)
        how = ", decoded whole";
    return mf_err_set(err, MF_ELIMIT,
                      "image would need about %lld MB to decode (%dx%d, %d bands of %d bit%s), "
                      "over the %lld MB decode memory limit (image_max_decode_mb)",
                      (long long)((need + (1 << 20) - 1) >> 20), vips_image_get_width(head),
                      vips_image_get_height(head), vips_image_get_bands(head),
                      mf__sample_bytes(head) * 8, how, (long long)budget_mb);
}

const char *mf_vips_heif_version(void)
{
    return heif_get_version();
}
