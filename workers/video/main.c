/* mf-worker-video: the worker runtime running the video lane (see mf/worker.h for modes). */
#include "mf/worker.h"

extern const mf_lane mf_lane_video;

int main(int argc, char **argv)
{
    return mf_worker_main(&mf_lane_video, argc, argv);
}
