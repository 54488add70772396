/* mf-exec-image: the image lane (image.c) on the shared worker runtime, run by mf-worker-image
 * as its executor (libvips, lcms2, OpenCV are loaded here only). */
#include "mf/worker.h"
#include "image.h"

int main(int argc, char **argv)
{
    return mf_exec_main(&mf_lane_image, argc, argv);
}
