/* mf-exec-video: the video lane (FFmpeg, pocketsphinx) on the shared worker runtime, run by
 * mf-worker-video as its executor. */
#include "mf/worker.h"

extern const mf_lane mf_lane_video;

int main(int argc, char **argv)
{
    return mf_exec_main(&mf_lane_video, argc, argv);
}
