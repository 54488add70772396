/* mf-worker-model: the supervisor of the 3D-model lane. It links no media library; the lane
 * runs in mf-exec-model (exec.c), which it starts (see mf/worker.h). */
#include "mf/worker.h"

int main(int argc, char **argv)
{
    return mf_worker_main("model", argc, argv);
}
