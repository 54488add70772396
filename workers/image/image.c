/* The image lane: thumbnails and previews with libvips.
 *
 * One decode per file: vips_thumbnail() makes the largest size straight from the file, so
 * JPEG and WebP shrink-on-load apply (a 100 MP JPEG is decoded at 1/8 scale), it is kept in
 * memory, and the smaller sizes are cut from it (HEIF, JPEG 2000 and ImageMagick's formats
 * are decoded whole first, then sized: mf_vips_load()). Before that, the header alone decides
 * the format (the list in workers/vipsutil, shared with the document lane) and the pixel,
 * frame and decode memory limits, so a decompression bomb costs a header read, not a decode.
 *
 * Hardening (workers/vipsutil): libvips' untrusted loaders are blocked but for the few that
 * list names, with the reason each is safe enough; the operation cache is off (nothing from
 * one upload lingers into the next); one vips thread per process, because the fleet scales by
 * processes (see README "How a job is isolated"). */
#include <errno.h>
#include <glib.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>
#include <webp/mux.h>
#include "mf/fsutil.h"
#include "mf/lane.h"
#include "mf/log.h"
#include "faces.h"
#include "image.h"

#define MF__IMAGE_MAX_SIZES 8
#define MF__IMAGE_MAX_PX 16384

typedef struct mf__image_size {
    char name[24]; /* "thumb" */
    int px;        /* longest side */
} mf__image_size;

/* Per-executor state set by init(); process() only reads it. */
static struct {
    mf__image_size sizes[MF__IMAGE_MAX_SIZES];
    int nsizes;
    int largest; /* index into sizes */
    const char *ext;
    char save[64]; /* vips_image_write_to_buffer() suffix with options, ".webp[Q=80,strip]" */
    int64_t max_megapixels;
    int64_t max_frames;
    int64_t anim_frames;   /* image_anim_frames */
    int64_t max_decode_mb; /* image_max_decode_mb */
    int strip;             /* image_strip */
} mf__img;

/* Parses "thumb:256 preview:1280". */
static int mf__image_sizes(const char *spec, mf_err *err)
{
    const char *p = spec, *colon, *end;
    char *num_end;
    long px;
    size_t nlen;
    mf__image_size *s;

    mf__img.nsizes = 0;
    mf__img.largest = 0;
    while (*p != '\0') {
        p += strspn(p, " \t");
        if (*p == '\0')
            break;
        end = p + strcspn(p, " \t");
        colon = memchr(p, ':', (size_t)(end - p));
        nlen = colon != NULL ? (size_t)(colon - p) : 0;
        if (mf__img.nsizes == MF__IMAGE_MAX_SIZES || nlen == 0 || nlen >= sizeof(s->name) ||
            strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_") < nlen)
            goto bad;
        px = strtol(colon + 1, &num_end, 10);
        if (num_end != end || px < 1 || px > MF__IMAGE_MAX_PX)
            goto bad;
        s = &mf__img.sizes[mf__img.nsizes];
        memcpy(s->name, p, nlen);
        s->name[nlen] = '\0';
        s->px = (int)px;
        if (s->px > mf__img.sizes[mf__img.largest].px)
            mf__img.largest = mf__img.nsizes;
        mf__img.nsizes++;
        p = end;
    }
    if (mf__img.nsizes > 0)
        return 0;
bad:
    return mf_err_set(err, MF_ECONFIG,
                      "image_thumb_sizes \"%s\" is not a list of name:pixels (up to %d, "
                      "names a-z 0-9 _, 1 to %d pixels)",
                      spec, MF__IMAGE_MAX_SIZES, MF__IMAGE_MAX_PX);
}

/* image_format, image_quality and image_strip -> file extension and saver options. Metadata
 * (EXIF with GPS, XMP) is stripped by default: a thumbnail should not carry where the photo
 * was taken. */
static int mf__image_format(const char *format, int64_t quality, int64_t effort, int strip,
                            mf_err *err)
{
    static const struct {
        const char *name, *ext;
        int lossy;
    } formats[] = {{"webp", "webp", 1}, {"jpeg", "jpg", 1}, {"png", "png", 0}, {"avif", "avif", 1}};
    size_t i;

    if (quality < 1 || quality > 100)
        return mf_err_set(err, MF_ECONFIG, "image_quality %lld is not within 1..100",
                          (long long)quality);
    for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(format, formats[i].name) != 0)
            continue;
        mf__img.ext = formats[i].ext;
        mf__img.strip = strip;
        if (strcmp(formats[i].name, "webp") == 0)
            snprintf(mf__img.save, sizeof(mf__img.save), ".webp[Q=%d,effort=%d%s]", (int)quality,
                     (int)effort, strip ? ",strip" : "");
        else if (formats[i].lossy)
            snprintf(mf__img.save, sizeof(mf__img.save), ".%s[Q=%d%s]", formats[i].ext,
                     (int)quality, strip ? ",strip" : "");
        else
            snprintf(mf__img.save, sizeof(mf__img.save), ".%s%s", formats[i].ext,
                     strip ? "[strip]" : "");
        return 0;
    }
    return mf_err_set(err, MF_ECONFIG, "image_format \"%s\" is not one of webp jpeg png avif",
                      format);
}

static int mf__image_init(const mf_config *cfg, mf_err *err)
{
    int rc;

    rc = mf__image_sizes(cfg->image_thumb_sizes, err);
    if (rc == 0)
        rc = mf__image_format(cfg->image_format, cfg->image_quality, cfg->image_webp_effort,
                              cfg->image_strip != 0, err);
    if (rc < 0)
        return rc;
    mf__img.max_megapixels = cfg->image_max_megapixels;
    mf__img.max_frames = cfg->image_max_frames;
    mf__img.anim_frames = cfg->image_anim_frames;
    mf__img.max_decode_mb = cfg->image_max_decode_mb;
    rc = mf_vips_init("mf-worker-image", err);
    if (rc < 0)
        return rc;
    /* Every job allocates and frees the same few buffers of a few MB (decoded preview, JPEG
     * rows, encoder state); above glibc's default mmap threshold each is a fresh mmap() and
     * page faults. Kept in the heap instead: 5-8 % less CPU per photo in a warm executor
     * (8 photos of 4000x3000, median of 3). The memory stays until executor_idle_s stops the
     * executor, and is within job_memory_mb's sampling like any other. */
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (cfg->image_faces)
        return mf_image_faces_init(cfg->image_face_model, err);
    return 0;
}

static void mf__image_shutdown(void)
{
    mf_image_faces_close();
    vips_shutdown();
}

/* What the header says, before any pixel is decoded. */
typedef struct mf__image_info {
    const mf_vips_format *fmt;
    char format[16];   /* "jpeg", "png", "avif", ... */
    int width, height; /* as displayed: after EXIF orientation */
    int bands;
    int orientation;
    int pages;
    int alpha;
    int colour_managed; /* an embedded ICC profile, or CMYK: needs a transform to sRGB */
    int animated;       /* a GIF or WebP of more than one frame */
    int frames;         /* frames decoded for the outputs: 1, or up to image_anim_frames */
} mf__image_info;

/* The accepted format of path, by sniffing its content; else MF_EUNSUPPORTED, saying what
 * the dispatcher's classification said when it named an image type (a damaged file of a
 * format we take must not read "unsupported format"). */
static int mf__image_loader(const char *path, const char *mime, const mf_vips_format **fmt,
                            mf_err *err)
{
    *fmt = mf_vips_format_find(path);
    if (*fmt != NULL)
        return 0;
    if (mime != NULL && g_str_has_prefix(mime, "image/"))
        return mf_err_set(err, MF_ECORRUPT,
                          "cannot read the image header: the file is classified %s but no "
                          "decoder recognises its header (damaged, or a variant of %s the "
                          "image lane does not read)",
                          mime, mime + 6);
    return mf_err_set(err, MF_EUNSUPPORTED,
                      "unsupported image format: not one of " MF_VIPS_FORMATS);
}

/* The header's facts into meta: geometry as displayed, then profile and EXIF. */
static void mf__image_meta(VipsImage *head, const mf__image_info *info, json_t *meta)
{
    int animated = info->animated;

    json_object_set_new(meta, "width", json_integer(info->width));
    json_object_set_new(meta, "height", json_integer(info->height));
    json_object_set_new(meta, "format", json_string(info->format));
    json_object_set_new(meta, "bands", json_integer(info->bands));
    json_object_set_new(meta, "has_alpha", json_boolean(info->alpha));
    json_object_set_new(meta, "orientation", json_integer(info->orientation));
    json_object_set_new(meta, "pages", json_integer(info->pages));
    json_object_set_new(meta, "animated", json_boolean(animated));
    if (animated)
        json_object_set_new(meta, "frames", json_integer(info->pages));
    mf_image_meta_read(head, meta);
}

/* The pixel, frame and decode memory limits, from the header. */
static int mf__image_limits(VipsImage *head, const mf__image_info *info, mf_err *err)
{
    int64_t pixels = (int64_t)info->width * info->height;

    if (pixels > mf__img.max_megapixels * 1000000)
        return mf_err_set(err, MF_ELIMIT, "image is %dx%d (%lld MP), over the %lld MP limit",
                          info->width, info->height, (long long)((pixels + 500000) / 1000000),
                          (long long)mf__img.max_megapixels);
    if (info->pages > mf__img.max_frames)
        return mf_err_set(err, MF_ELIMIT, "image has %d frames, over the %lld frame limit",
                          info->pages, (long long)mf__img.max_frames);
    return mf_vips_check_budget(head, info->fmt, info->frames, 0, mf__img.max_decode_mb, err);
}

/* Reads the header only, fills info and meta, and enforces the limits. */
static int mf__image_probe(const char *path, const char *mime, mf__image_info *info, json_t *meta,
                           mf_err *err)
{
    const char *compression = NULL;
    VipsImage *head = NULL;
    int rc = 0;

    rc = mf__image_loader(path, mime, &info->fmt, err);
    /* Lazy open: libvips reads the header now and pixels only when asked. */
    if (rc == 0)
        rc = mf_vips_open(path, info->fmt, &head, err);
    if (rc < 0)
        goto out;
    info->width = vips_image_get_width(head);
    info->height = vips_image_get_height(head);
    info->bands = vips_image_get_bands(head);
    /* HEIF: libheif applies the file's rotation and mirror; EXIF orientation is informative
     * there (the HEIF standard) and ImageMagick's formats have none. */
    info->orientation = info->fmt->direct ? 1 : vips_image_get_orientation(head);
    info->pages = info->fmt->pages ? vips_image_get_n_pages(head) : 1;
    info->alpha = vips_image_hasalpha(head);
    info->colour_managed = vips_image_get_typeof(head, VIPS_META_ICC_NAME) != 0 ||
                           vips_image_guess_interpretation(head) == VIPS_INTERPRETATION_CMYK;
    snprintf(info->format, sizeof(info->format), "%s", info->fmt->name);
    if (strcmp(info->fmt->loader, "heifload") == 0 &&
        vips_image_get_string(head, "heif-compression", &compression) == 0)
        snprintf(info->format, sizeof(info->format), "%s",
                 strcmp(compression, "av1") == 0 ? "avif" : "heic");
    info->animated =
        info->pages > 1 && (strcmp(info->format, "gif") == 0 || strcmp(info->format, "webp") == 0);
    /* An animation stays one (WebP output only), cut to image_anim_frames: libvips loads the
     * frames as one tall strip and sizes each frame. The limit is what keeps a 300-frame GIF
     * from costing 300 decodes for a thumbnail. */
    info->frames = 1;
    if (info->animated && strcmp(mf__img.ext, "webp") == 0 && mf__img.anim_frames > 1)
        info->frames = info->pages < mf__img.anim_frames ? info->pages : (int)mf__img.anim_frames;
    rc = mf__image_limits(head, info, err);
    if (rc < 0)
        goto out;
    if (info->orientation >= 5 && info->orientation <= 8) {
        info->width = vips_image_get_height(head);
        info->height = vips_image_get_width(head);
    }
    mf__image_meta(head, info, meta);
out:
    vips_error_clear();
    if (head != NULL)
        g_object_unref(head);
    return rc;
}

/* Drops what a thumbnail should not carry. The savers' own "strip" is not enough: libvips
 * 8.14.1 (Debian 12) webpsave writes EXIF and ICC despite it. img must not be shared. */
static void mf__image_strip(VipsImage *img)
{
    gchar **fields = vips_image_get_fields(img);
    const char *f;
    int i;

    for (i = 0; fields[i] != NULL; i++) {
        f = fields[i];
        if (g_str_has_prefix(f, "exif-") || g_str_has_prefix(f, "png-comment-") ||
            strcmp(f, "xmp-data") == 0 || strcmp(f, "iptc-data") == 0 ||
            strcmp(f, "gif-comment") == 0 || strcmp(f, VIPS_META_ICC_NAME) == 0 ||
            strcmp(f, "jpeg-thumbnail-data") == 0)
            vips_image_remove(img, f);
    }
    g_strfreev(fields);
}

/* libvips 8.14 webpsave rebuilds an EXIF chunk from the image's fields whatever "strip" says
 * (with the source's embedded JPEG thumbnail in it when the loader kept one), so the chunks
 * are taken out of the encoded file with libwebpmux: a WebP output then holds only its
 * image (and animation) chunks. *buf is replaced (g_malloc'd, as from libvips). */
static int mf__image_webp_strip(void **buf, size_t *len, mf_err *err)
{
    static const char *const chunks[] = {"EXIF", "XMP ", "ICCP"};
    WebPData in = {*buf, *len}, out = {NULL, 0};
    WebPMux *mux = WebPMuxCreate(&in, 1);
    size_t i;
    int rc = 0;

    if (mux == NULL) {
        rc = mf_err_set(err, MF_ECORRUPT, "cannot strip the webp output: WebPMuxCreate() failed");
        goto out;
    }
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
        (void)WebPMuxDeleteChunk(mux, chunks[i]); /* WEBP_MUX_NOT_FOUND is fine */
    if (WebPMuxAssemble(mux, &out) != WEBP_MUX_OK) {
        rc = mf_err_set(err, MF_ECORRUPT, "cannot strip the webp output: WebPMuxAssemble() failed");
        goto out;
    }
    g_free(*buf);
    *buf = g_memdup2(out.bytes, out.size);
    *len = out.size;
out:
    WebPDataClear(&out);
    WebPMuxDelete(mux);
    return rc;
}

/* The one decode through libvips' own loaders: the largest size, shrink-on-load where the
 * format has it (JPEG, WebP, JPEG 2000 levels), upright. */
static int mf__image_thumb_file(const char *path, const mf__image_info *info, int px,
                                VipsImage **lazy)
{
    char load[96];

    /* path is /proc/self/fd/N: the only options in brackets are ours */
    if (info->frames > 1)
        snprintf(load, sizeof(load), "%s[n=%d]", path, info->frames);
    else
        snprintf(load, sizeof(load), "%s", path);
    /* fail_on=error: a truncated JPEG is an error, not a thumbnail with a grey bottom.
     * export_profile: an embedded profile (CMYK, Adobe RGB, P3) is converted to sRGB, what
     * browsers assume of an untagged thumbnail; a CMYK file without one goes through
     * libvips' built-in CMYK profile. Only then: an untagged RGB or grey file is taken as
     * sRGB already, and asking anyway costs an lcms transform of every pixel for nothing
     * (measured: 0.07 s of CPU on a 4000x3000 JPEG, a sixth of the whole job). The first
     * page or frame only (the default). */
    return vips_thumbnail(load, lazy, px, "height", px, "size", VIPS_SIZE_DOWN, "fail_on",
                          VIPS_FAIL_ON_ERROR, "export_profile",
                          info->colour_managed ? "srgb" : NULL, NULL);
}

/* The one decode: the largest size, upright, into memory. */
static int mf__image_decode(const char *path, const mf__image_info *info, VipsImage **out,
                            mf_err *err)
{
    char why[MF_ERR_MSG_MAX];
    int px = mf__img.sizes[mf__img.largest].px, rc = 0;
    VipsImage *whole = NULL, *lazy = NULL;

    *out = NULL;
    if (info->fmt->direct) {
        /* decoded whole by mf_vips_load() (HEIF, ImageMagick's formats), then sized */
        rc = mf_vips_load(path, info->fmt, 0, &whole, err);
        if (rc < 0)
            goto out;
        if (vips_thumbnail_image(whole, &lazy, px, "height", px, "size", VIPS_SIZE_DOWN,
                                 "export_profile", info->colour_managed ? "srgb" : NULL, NULL) != 0)
            goto failed;
    } else if (mf__image_thumb_file(path, info, px, &lazy) != 0)
        goto failed;
    /* The pixels are computed here; decode errors surface here too. */
    *out = vips_image_copy_memory(lazy);
    if (*out == NULL)
        goto failed;
    if (mf__img.strip)
        mf__image_strip(*out);
    goto out;
failed:
    rc = mf_err_set(err, MF_ECORRUPT, "cannot decode the %s image: %s", info->format,
                    mf_vips_error(why, sizeof(why)));
out:
    if (lazy != NULL)
        g_object_unref(lazy);
    if (whole != NULL)
        g_object_unref(whole);
    return rc;
}

/* One output: "<name>-<px>.<ext>", cut from the decoded largest size. */
static int mf__image_save(VipsImage *big, const mf__image_size *s, const char *outdir,
                          mf_result *res, mf_err *err)
{
    char name[64], why[MF_ERR_MSG_MAX];
    VipsImage *img = NULL;
    void *buf = NULL;
    size_t len = 0;
    int rc = 0;

    if (s == &mf__img.sizes[mf__img.largest]) {
        img = big;
        g_object_ref(img);
    } else if (vips_thumbnail_image(big, &img, s->px, "height", s->px, "size", VIPS_SIZE_DOWN,
                                    "no_rotate", TRUE, NULL) != 0) {
        rc = mf_err_set(err, MF_ECORRUPT, "cannot size the %s output: %s", s->name,
                        mf_vips_error(why, sizeof(why)));
        goto out;
    }
    if (vips_image_write_to_buffer(img, mf__img.save, &buf, &len, NULL) != 0) {
        rc = mf_err_set(err, MF_ECORRUPT, "cannot encode the %s output (%s): %s", s->name,
                        mf__img.ext, mf_vips_error(why, sizeof(why)));
        goto out;
    }
    if (mf__img.strip && strcmp(mf__img.ext, "webp") == 0) {
        rc = mf__image_webp_strip(&buf, &len, err);
        if (rc < 0)
            goto out;
    }
    snprintf(name, sizeof(name), "%s-%d.%s", s->name, s->px, mf__img.ext);
    rc = mf_fs_write_atomic(outdir, name, buf, len, err);
    if (rc == 0) {
        mf_result_add_output(res, name);
        mf_result_output_info(res, name, "width", json_integer(vips_image_get_width(img)));
        mf_result_output_info(res, name, "height", json_integer(vips_image_get_page_height(img)));
    }
out:
    g_free(buf);
    if (img != NULL)
        g_object_unref(img);
    return rc;
}

/* The first frame of an animation kept whole (a strip of frames), else big itself; a new
 * reference either way. The hash and the faces describe the picture, not the strip. */
static int mf__image_first_frame(VipsImage *big, VipsImage **first, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];
    int page_height = vips_image_get_page_height(big);

    *first = NULL;
    if (page_height >= big->Ysize) {
        g_object_ref(big);
        *first = big;
        return 0;
    }
    if (vips_crop(big, first, 0, 0, big->Xsize, page_height, NULL) != 0)
        return mf_err_set(err, MF_ECORRUPT, "vips_crop() failed: %s",
                          mf_vips_error(why, sizeof(why)));
    return 0;
}

/* Refuses what is not worth a decoder: an empty file. */
static int mf__image_precheck(int fd, mf_err *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return mf_err_set(err, -errno, "fstat() failed: %s", strerror(errno));
    if (st.st_size == 0)
        return mf_err_set(err, MF_ECORRUPT, "empty file (0 bytes): not an image");
    return 0;
}

static int mf__image_process(const mf_lane_job *job, mf_result *res, mf_err *err)
{
    char path[64], hex[17];
    mf__image_info info;
    VipsImage *big = NULL, *first = NULL;
    uint64_t phash = 0;
    int i, rc;

    /* Through the descriptor the runtime opened beneath the inbox: a symlink swapped in after
     * that open cannot send libvips elsewhere, and a '[' in a user's file name is not read as
     * vips load options. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", job->fd);
    memset(&info, 0, sizeof(info));
    rc = mf__image_precheck(job->fd, err);
    if (rc == 0)
        rc = mf__image_probe(path, job->mime, &info, res->meta, err);
    if (rc == 0)
        rc = mf__image_decode(path, &info, &big, err);
    for (i = 0; rc == 0 && i < mf__img.nsizes; i++)
        rc = mf__image_save(big, &mf__img.sizes[i], job->outdir, res, err);
    if (rc == 0)
        rc = mf__image_first_frame(big, &first, err);
    if (rc == 0)
        rc = mf_image_phash(first, &phash, err);
    if (rc < 0)
        goto out;
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)phash);
    json_object_set_new(res->meta, "phash", json_string(hex));
    rc = mf_image_faces(first, info.width, info.height, res->meta, err);
out:
    if (first != NULL)
        g_object_unref(first);
    if (big != NULL)
        g_object_unref(big);
    return rc;
}

/* meta.provenance.libraries: the decoders and encoders that shape the outputs. */
static void mf__image_provenance(json_t *libs)
{
    char webp[16];
    int v = WebPGetMuxVersion();

    snprintf(webp, sizeof(webp), "%d.%d.%d", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    json_object_set_new(libs, "libvips", json_string(vips_version_string()));
    json_object_set_new(libs, "libwebpmux", json_string(webp));
    json_object_set_new(libs, "libheif", json_string(mf_vips_heif_version()));
    json_object_set_new(libs, "opencv", json_string(mf_faces_version()));
}

const mf_lane mf_lane_image = {
    .name = "image",
    .init = mf__image_init,
    .process = mf__image_process,
    .shutdown = mf__image_shutdown,
    .provenance = mf__image_provenance,
};
