/* mf-worker-image: the supervisor of the image lane. It links no media library; the lane runs
 * in mf-exec-image (exec.c), which it starts (see mf/worker.h). Its own step is the
 * near-duplicate lookup, which needs Redis (neardup.c). */
#include "mf/worker.h"
#include "neardup.h"

static const mf_lane mf__image_side = {.name = "image", .finish = mf_image_near_dups};

int main(int argc, char **argv)
{
    return mf_worker_main_lane(&mf__image_side, argc, argv);
}
