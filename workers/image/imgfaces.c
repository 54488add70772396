/* meta.faces: where the frontal faces are, as boxes in the coordinates of the image as
 * displayed (after EXIF orientation, the same space as meta.width and meta.height).
 *
 * Cheap by construction: detection runs on a grey copy at most MF__FACES_PX on its longest
 * side, cut from the largest output already in memory (no second decode), and the boxes are
 * scaled back. A face a few pixels wide in that copy is not found; it would be a speck in the
 * preview too.
 *
 * What fails the job: making the grey copy (a libvips failure, like the phash's) and running
 * out of memory. What does not: OpenCV failing on a picture the lane has already turned into
 * thumbnails. Those are the product; the faces are an extra, so the job is done without a
 * "faces" key and meta.faces_error says why (and the log has a warning). */
#include <math.h>
#include "faces.h"
#include "image.h"
#include "mf/log.h"

/* Longest side of the copy searched. The cascade's smallest face is its 20 px window: at 400 a
 * face 1/20 of a group photo's width is still found, and a Haar pass costs ~0.1-0.2 s of one
 * core (it grows with the pixels: ~0.3 s at 640). */
#define MF__FACES_PX 400

/* The detector loaded by mf_image_faces_init(); NULL when image_faces is off. */
static mf_faces *mf__faces;

int mf_image_faces_init(const char *model_path, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];

    mf_faces_free(mf__faces);
    mf__faces = mf_faces_new(model_path, err);
    if (mf__faces != NULL)
        return 0;
    if (err == NULL)
        return MF_ECONFIG;
    snprintf(why, sizeof(why), "%s", err->msg);
    return mf_err_set(err, MF_ECONFIG,
                      "%s; install Debian's opencv-data, set image_face_model to a cascade "
                      "file, or image_faces=0 to turn face detection off",
                      why);
}

void mf_image_faces_close(void)
{
    mf_faces_free(mf__faces);
    mf__faces = NULL;
}

/* img -> at most MF__FACES_PX on its longest side, one-band uchar grey, as a new image. */
static int mf__faces_grey(VipsImage *img, VipsImage **out)
{
    VipsImage *t[4] = {NULL, NULL, NULL, NULL}, *cur;
    VipsArrayDouble *white = NULL;
    int rc, i;

    *out = NULL;
    rc = vips_thumbnail_image(img, &t[0], MF__FACES_PX, "height", MF__FACES_PX, "size",
                              VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL);
    cur = t[0];
    if (rc == 0 && vips_image_hasalpha(cur)) {
        /* Transparent is white, as a viewer on a light page shows it. */
        white = vips_array_double_newv(1, 255.0);
        rc = vips_flatten(cur, &t[1], "background", white, NULL);
        cur = t[1];
    }
    if (rc == 0) {
        rc = vips_colourspace(cur, &t[2], VIPS_INTERPRETATION_B_W, NULL);
        cur = t[2];
    }
    if (rc == 0)
        rc = vips_cast_uchar(cur, &t[3], NULL);
    if (rc == 0) {
        *out = t[3];
        t[3] = NULL;
    }
    for (i = 0; i < 4; i++)
        if (t[i] != NULL)
            g_object_unref(t[i]);
    if (white != NULL)
        vips_area_unref(VIPS_AREA(white));
    return rc;
}

/* The boxes found in a w x h copy, scaled to width x height, as meta.faces. */
static json_t *mf__faces_json(const mf_face_box *boxes, int n, int w, int h, int width, int height)
{
    json_t *arr = json_array(), *box;
    double sx = (double)width / w, sy = (double)height / h;
    int i, x0, y0, x1, y1;

    for (i = 0; i < n; i++) {
        /* Scale the corners, not the size, so adjacent boxes stay adjacent after rounding. */
        x0 = (int)lround(boxes[i].x * sx);
        y0 = (int)lround(boxes[i].y * sy);
        x1 = (int)lround((boxes[i].x + boxes[i].w) * sx);
        y1 = (int)lround((boxes[i].y + boxes[i].h) * sy);
        x1 = x1 < width ? x1 : width;
        y1 = y1 < height ? y1 : height;
        box = json_pack("{s:i, s:i, s:i, s:i}", "x", x0, "y", y0, "w", x1 - x0, "h", y1 - y0);
        json_array_append_new(arr, box);
    }
    return arr;
}

int mf_image_faces(VipsImage *big, int width, int height, json_t *meta, mf_err *err)
{
    char why[MF_ERR_MSG_MAX], q[MF_ERR_MSG_MAX + 16];
    mf_face_box boxes[MF_IMAGE_FACES_MAX];
    VipsImage *grey = NULL;
    unsigned char *px = NULL;
    size_t len = 0;
    int rc = 0, n = 0, w, h;
    mf_err ferr;

    if (mf__faces == NULL)
        goto out;
    if (mf__faces_grey(big, &grey) == 0)
        px = vips_image_write_to_memory(grey, &len);
    if (px == NULL) {
        rc = mf_err_set(err, MF_ECORRUPT, "face detection: %s", mf_vips_error(why, sizeof(why)));
        goto out;
    }
    w = vips_image_get_width(grey);
    h = vips_image_get_height(grey);
    mf_err_clear(&ferr);
    rc = mf_faces_detect(mf__faces, px, w, h, (size_t)w, boxes, MF_IMAGE_FACES_MAX, &n, &ferr);
    if (rc == MF_EMEMLIMIT || rc == MF_EINVAL) {
        mf_err_set(err, rc, "%s", ferr.msg);
        goto out;
    }
    if (rc < 0) {
        mf_log(MF_LOG_WARN, "msg=%s", mf_log_quote(q, sizeof(q), ferr.msg));
        json_object_set_new(meta, "faces_error", json_string(ferr.msg));
        rc = 0;
        goto out;
    }
    json_object_set_new(meta, "faces", mf__faces_json(boxes, n, w, h, width, height));
out:
    g_free(px);
    if (grey != NULL)
        g_object_unref(grey);
    return rc;
}
