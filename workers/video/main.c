/* mf-worker-video: the supervisor of the video lane. It links no media library; the lane runs
 * in mf-exec-video (exec.c), which it starts (see mf/worker.h for modes). */
#include "mf/worker.h"

int main(int argc, char **argv)
{
    return mf_worker_main("video", argc, argv);
}
