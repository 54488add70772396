/* mf-exec-model: the 3D-model lane (model.c) on the shared worker runtime, run by
 * mf-worker-model as its executor (assimp, meshoptimizer, EGL/GLES and libvips are loaded
 * here only). */
#include "mf/worker.h"
#include "model.h"

int main(int argc, char **argv)
{
    return mf_exec_main(&mf_lane_model, argc, argv);
}
