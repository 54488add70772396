/* mf-worker-image: the image lane (image.c) on the shared worker runtime. */
#include "mf/worker.h"
#include "image.h"

int main(int argc, char **argv)
{
    return mf_worker_main(&mf_lane_image, argc, argv);
}
