/* libvips for untrusted input, as every lane that decodes images uses it: one set-up, one
 * list of the image formats the fleet decodes (the image lane and the document lane's images
 * accept exactly the same), how each is loaded, and what a decode will hold in memory. */
#ifndef MF_VIPSUTIL_H
#define MF_VIPSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <vips/vips.h>

#include "mf/err.h"

/* An accepted image format. Entries are static: compare pointers, never free. */
typedef struct mf_vips_format {
    const char *name;   /* what meta.format says: "jpeg", "bmp", "jp2", ... */
    const char *loader; /* the libvips loader's nickname: "jpegload", "magickload" */
    const char *magick; /* magickload only: the one ImageMagick coder allowed ("BMP") */
    int pages;          /* its pages are pages or frames (TIFF, GIF, WebP, HEIF), not levels */
    int whole;          /* the loader decodes the whole image before the first pixel row */
    int direct;         /* loaded whole by mf_vips_load(), not through vips_thumbnail(file) */
} mf_vips_format;

/* The accepted formats' names, for messages: "jpeg, png, webp, ...". */
#define MF_VIPS_FORMATS                                                                            \
    "jpeg, png, webp, gif, tiff, heif/avif, bmp, ico, psd, jpeg 2000, jpeg xl, pbm/pgm/ppm"

/* Starts libvips for program prog: untrusted loaders blocked (vips_block_untrusted_set) but for
 * the few mf_vips_format_find() may pick, no operation cache, one thread unless
 * VIPS_CONCURRENCY says otherwise, and libvips's GLib warnings sent to our log (debug level;
 * critical ones at warn) and kept for mf_vips_error(). Returns 0 or MF_ECONFIG. */
int mf_vips_init(const char *prog, mf_err *err);
/* The libvips error buffer as one readable line ("VipsJpeg: Premature end of input file"),
 * repeated lines dropped, file paths (/proc/self/fd/N) removed; when libvips left no error,
 * the last decoder warning of the job; else "no reason given by the decoder". The buffer and
 * the warning are cleared so the next job starts clean. Returns buf. */
const char *mf_vips_error(char *buf, size_t size);

/* The libheif version HEIF/AVIF files are decoded with (meta.provenance). */
const char *mf_vips_heif_version(void);

/* The format of the file at path, decided by its content (never its name), or NULL when it
 * is none of the accepted ones. A file whose signature is one of ours but whose header is too
 * damaged for the loader's own test still gets its format (mf_vips_open() then says what is
 * wrong). Call it first for every file: it also forgets the previous file's warnings. */
const mf_vips_format *mf_vips_format_find(const char *path);
/* The index of f in the table (1..), 0 for NULL; and back (NULL when out of range). */
int mf_vips_format_index(const mf_vips_format *f);
const mf_vips_format *mf_vips_format_at(int index);

/* The header of path through f's loader, pixels not decoded yet (a new reference in *head).
 * For HEIF the width and height are libheif's, with the file's rotation, mirror and crop
 * applied. Returns 0 or
 * MF_ECORRUPT with err saying that the header could not be read, and why. */
int mf_vips_open(const char *path, const mf_vips_format *f, VipsImage **head, mf_err *err);
/* Page page (0..) of path as one image in *out, a new reference: lazy for libvips' own
 * loaders, decoded into memory for the direct ones (ImageMagick's coder pinned to f->magick;
 * HEIF through libheif with its transformations applied, as heif-convert does). EXIF
 * orientation is left to the caller (vips_autorot). Returns 0 or MF_ECORRUPT. */
int mf_vips_load(const char *path, const mf_vips_format *f, int page, VipsImage **out, mf_err *err);

/* Bytes a decode of head's first page (frames: pages of it, 1 for a still) will hold at
 * once, from the header alone: the pixels the loader keeps (whole-image loaders: all of them,
 * at their sample size, interlaced PNG and progressive JPEG included) plus, with keep_whole,
 * the decoded image itself (the document lane holds every page whole for OCR). */
int64_t mf_vips_decode_bytes(VipsImage *head, const mf_vips_format *f, int frames, int keep_whole);
/* MF_ELIMIT with a reason when mf_vips_decode_bytes() is over budget_mb, else 0. */
int mf_vips_check_budget(VipsImage *head, const mf_vips_format *f, int frames, int keep_whole,
                         int64_t budget_mb, mf_err *err);

#endif
