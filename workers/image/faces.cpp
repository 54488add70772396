/* Face detection with OpenCV's cascade classifier, behind the C interface of faces.h.
 *
 * C++ stays in this file: every entry point is extern "C" and catches every exception, so an
 * OpenCV assertion becomes an mf_err the job record can carry instead of std::terminate()
 * killing the executor. Only core, imgproc and objdetect are linked.
 *
 * The caller hands a small grey copy (image.c makes it with libvips), so detection costs a
 * tenth of a second or two rather than seconds on a camera-sized photo. The pixels are wrapped,
 * not copied: cv::Mat over the caller's buffer. */
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

/* err.h is a C header without extern "C" of its own. */
extern "C" {
#include "mf/err.h"
}
#include "faces.h"

/* Detection settings, tried on 9 photos and paintings (5 faces, 2 of them small). A scale step
 * of 1.1 is OpenCV's default: 1.15 cost ~25% less but added a false box in a crowd, 1.2 lost a
 * small face. 5 neighbours (default 3): at 3, haarcascade_frontalface_default saw a second
 * face in Van Gogh's Starry Night and alt2 a second, offset box by a footballer's head; at 5
 * neither, and no real face was lost. Faces under 1/20 of the shorter side are not looked
 * for: they cost the most pyramid levels and would be specks in a preview. */
#define MF__FACES_SCALE 1.1
#define MF__FACES_NEIGHBOURS 5
#define MF__FACES_MIN_DIV 20

struct mf_faces {
    cv::CascadeClassifier cascade;
};

/* The exception being handled as an mf_err: "<call> failed: <why>". Call from a catch block. */
static int mf__faces_caught(mf_err *err, const char *call, int code)
{
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return mf_err_set(err, MF_EMEMLIMIT, "%s failed: out of memory", call);
    } catch (const cv::Exception &e) {
        /* e.what() is "OpenCV(4.6.0) <file>:<line>: error: (-5:Bad argument) <msg> in function
         * 'open'\n": the message alone is what a person can act on. */
        return mf_err_set(err, code, "%s failed: %s", call, e.err.c_str());
    } catch (const std::exception &e) {
        return mf_err_set(err, code, "%s failed: %s", call, e.what());
    } catch (...) {
        return mf_err_set(err, code, "%s failed: unknown C++ exception", call);
    }
}

extern "C" mf_faces *mf_faces_new(const char *model_path, mf_err *err)
{
    char call[MF_ERR_MSG_MAX / 2];
    mf_faces *f = nullptr;

    snprintf(call, sizeof(call), "cv::CascadeClassifier::load(%s)", model_path);
    try {
        /* One thread: the fleet scales by processes (see image.c's vips_concurrency_set).
         * Silent: OpenCV's own "[ERROR] Can't open file" would repeat what err says. */
        cv::setNumThreads(1);
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        f = new mf_faces();
        if (!f->cascade.load(model_path)) {
            mf_err_set(err, MF_ECONFIG, "%s failed: missing, unreadable or not a cascade", call);
            delete f;
            f = nullptr;
        }
    } catch (...) {
        mf__faces_caught(err, call, MF_ECONFIG);
        delete f;
        f = nullptr;
    }
    return f;
}

static bool mf__faces_by_area(const cv::Rect &a, const cv::Rect &b)
{
    return a.area() > b.area();
}

static bool mf__faces_by_position(const cv::Rect &a, const cv::Rect &b)
{
    if (a.y != b.y)
        return a.y < b.y;
    if (a.x != b.x)
        return a.x < b.x;
    return a.area() < b.area();
}

extern "C" int mf_faces_detect(mf_faces *f, const unsigned char *gray, int width, int height,
                               size_t stride, mf_face_box *boxes, int max, int *count, mf_err *err)
{
    std::vector<cv::Rect> found;
    int rc = 0, side, n;

    *count = 0;
    if (f == nullptr || gray == nullptr || width < 1 || height < 1 || stride < (size_t)width ||
        max < 0 || (max > 0 && boxes == nullptr))
        return mf_err_set(err, MF_EINVAL, "mf_faces_detect() called with bad arguments");
    try {
        cv::Mat img(height, width, CV_8UC1, const_cast<unsigned char *>(gray), stride);

        side = std::max(1, std::min(width, height) / MF__FACES_MIN_DIV);
        f->cascade.detectMultiScale(img, found, MF__FACES_SCALE, MF__FACES_NEIGHBOURS, 0,
                                    cv::Size(side, side));
        /* The largest max faces, then in reading order, so the result does not depend on
         * OpenCV's grouping order. */
        std::stable_sort(found.begin(), found.end(), mf__faces_by_area);
        if (found.size() > (size_t)max)
            found.resize((size_t)max);
        std::sort(found.begin(), found.end(), mf__faces_by_position);
        n = (int)found.size();
        for (int i = 0; i < n; i++)
            boxes[i] = mf_face_box{found[i].x, found[i].y, found[i].width, found[i].height};
        *count = n;
    } catch (...) {
        rc = mf__faces_caught(err, "cv::CascadeClassifier::detectMultiScale()", MF_ECORRUPT);
    }
    return rc;
}

extern "C" void mf_faces_free(mf_faces *f)
{
    delete f;
}

extern "C" const char *mf_faces_version(void)
{
    return CV_VERSION;
}
