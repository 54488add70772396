/* The image lane (image.c) and its helper modules: metadata (imgmeta.c), the perceptual
 * hash (imghash.c) and faces (imgfaces.c, over faces.h). Internal to workers/image and its
 * unit tests; every function runs in the job executor, one job at a time. */
#ifndef MF_WORKER_IMAGE_H
#define MF_WORKER_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <vips/vips.h>
#include "mf/err.h"
#include "mf/lane.h"
#include "mf/vipsutil.h" /* mf_vips_error() */

extern const mf_lane mf_lane_image;

/* imgmeta.c */

/* The value part of a libvips EXIF field string: "Canon (Canon, ASCII, 6 components, 6
 * bytes)" -> "Canon", "1/250 (1/250 sec., Rational, ...)" -> "1/250". Writes a NUL-terminated
 * copy into buf. Returns 0, or -1 when s has no value or it does not fit. */
int mf_image_exif_value(const char *s, char *buf, size_t size);
/* Up to n rationals "51/1 30/1 2621/100" as doubles. Returns how many were read (0: none;
 * a zero denominator ends the list). */
int mf_image_exif_rationals(const char *value, double *out, int n);
/* An exposure time in seconds as people write it: 0.004 -> "1/250", 2.5 -> "2.5". */
void mf_image_exposure_format(double seconds, char *buf, size_t size);
/* Adds what the header says beyond the geometry to meta: "icc" (the embedded profile's
 * description, through lcms2) and "exif" (camera, lens, capture time, exposure, GPS), each
 * only when present and readable. Never fails: metadata a file garbles is left out. */
void mf_image_meta_read(VipsImage *head, json_t *meta);

/* imghash.c */

/* Side of the grey square the hash is computed from. */
#define MF_IMAGE_PHASH_SIDE 32

/* The 64-bit DCT perceptual hash of a 32x32 grey image (row-major, any scale): the 8x8 lowest
 * frequencies of its 2-D DCT-II, row-major, first bit highest, each set when above the median
 * of the 63 AC terms. Python's imagehash.phash, except that its median includes the DC term. */
uint64_t mf_image_phash_grey(const float *px);
/* The hash of an image: alpha flattened, to grey, resized to 32x32, then as above. Returns 0
 * or MF_ECORRUPT with err set. */
int mf_image_phash(VipsImage *img, uint64_t *hash, mf_err *err);

/* imgfaces.c */

/* Most boxes in meta.faces: the largest faces are kept. */
#define MF_IMAGE_FACES_MAX 64

/* Loads the face detector (an OpenCV cascade, see faces.h) for every later job. Returns 0 or
 * MF_ECONFIG with err saying what to install or set. */
int mf_image_faces_init(const char *model_path, mf_err *err);
/* Releases the detector; mf_image_faces() then adds nothing. Safe to call when not loaded. */
void mf_image_faces_close(void);
/* Sets meta.faces to the frontal faces of img (upright, any size) as [{x, y, w, h}], sorted
 * by y then x, in the coordinates of a width x height image (as displayed); [] when none.
 * Does nothing without a detector loaded. Returns 0, or MF_ECORRUPT (libvips) or
 * MF_EMEMLIMIT with err set; an OpenCV failure is not one: meta.faces_error says it. */
int mf_image_faces(VipsImage *img, int width, int height, json_t *meta, mf_err *err);

#endif
