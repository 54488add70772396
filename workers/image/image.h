/* The image lane's table (image.c), for main.c. */
#ifndef MF_WORKER_IMAGE_H
#define MF_WORKER_IMAGE_H

#include "mf/lane.h"

extern const mf_lane mf_lane_image;

#endif
