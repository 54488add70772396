/* mf-worker-image: the supervisor of the image lane. It links no media library; the lane runs
 * in mf-exec-image (exec.c), which it starts (see mf/worker.h). */
#include "mf/worker.h"

int main(int argc, char **argv)
{
    return mf_worker_main("image", argc, argv);
}
