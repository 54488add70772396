/* Face detection: a small C interface over OpenCV's cascade classifier (faces.cpp), so the
 * rest of the image lane stays C and no C++ type or exception crosses into it.
 *
 * The model is a Haar or LBP cascade file as Debian's opencv-data ships them
 * (/usr/share/opencv4/haarcascades/, /usr/share/opencv4/lbpcascades/). It is loaded once per
 * executor by mf_faces_new() and used for every job.
 *
 * Threading: one mf_faces per thread (OpenCV's CascadeClassifier is not safe to share while
 * detecting). OpenCV's own thread pool is set to one thread when the first detector is made:
 * the fleet scales by processes, like libvips in image.c.
 *
 * Errors: every function returns 0 or a negative mf error code with err set; no C++
 * exception escapes (they become MF_ECONFIG for a bad model, MF_ECORRUPT otherwise). */
#ifndef MF_WORKER_FACES_H
#define MF_WORKER_FACES_H

#include <stddef.h>
#include "mf/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mf_faces mf_faces;

/* A face in pixel coordinates of the image passed to mf_faces_detect(). */
typedef struct mf_face_box {
    int x, y, w, h;
} mf_face_box;

/* Loads the cascade at model_path. Returns a detector the caller owns (free with
 * mf_faces_free()), or NULL with err set: MF_ECONFIG when the file is missing, unreadable or
 * not a cascade. */
mf_faces *mf_faces_new(const char *model_path, mf_err *err);

/* Detects frontal faces in an 8-bit one-band image of width x height pixels whose rows are
 * stride bytes apart (stride >= width). gray is only read and is not kept. Writes up to max
 * boxes into boxes (caller-owned), sorted by y then x, and their number into *count; beyond
 * max, the largest max faces are kept. Faces smaller than 1/20 of the shorter side (or than
 * the cascade's window, 20-24 px) are not looked for. Returns 0, MF_EINVAL for bad arguments or
 * MF_ECORRUPT when OpenCV fails. */
int mf_faces_detect(mf_faces *f, const unsigned char *gray, int width, int height, size_t stride,
                    mf_face_box *boxes, int max, int *count, mf_err *err);

/* Releases the detector. Accepts NULL. */
void mf_faces_free(mf_faces *f);

/* The OpenCV version the detector runs on ("4.6.0"), for meta.provenance. */
const char *mf_faces_version(void);

#ifdef __cplusplus
}
#endif

#endif
