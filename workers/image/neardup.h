/* The image lane's supervisor-side step (see neardup.c); no media library. */
#ifndef MF_IMAGE_NEARDUP_H
#define MF_IMAGE_NEARDUP_H

#include "mf/lane.h"

/* mf_lane.finish of the image lane: adds meta.near_duplicates ([{id distance}], nearest
 * first) when meta has a phash and image_near_dup_bits > 0. Returns 0, MF_EREDIS,
 * MF_EPROTO. */
int mf_image_near_dups(const mf_lane_finish_ctx *ctx, json_t *meta, mf_err *err);

#endif
