/* The image lane's finish step (mf_lane.finish), linked into the supervisor mf-worker-image:
 * meta.near_duplicates. The executor computed meta.phash; here the hash is indexed and the
 * images indexed before it within image_near_dup_bits are listed, in one script
 * (queues/lua/neardup.lua), so that meta.json and the record both carry the list. The script
 * is idempotent for one id and hash, as finish must be. */
#include <string.h>
#include "mf/limits.h"
#include "neardup.h"

int mf_image_near_dups(const mf_lane_finish_ctx *ctx, json_t *meta, mf_err *err)
{
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];
    const char *phash = json_string_value(json_object_get(meta, "phash"));
    json_t *list;
    size_t i, n = 0;
    int rc = 0;

    if (ctx->cfg->image_near_dup_bits <= 0 || phash == NULL || strlen(phash) != 16 ||
        strspn(phash, "0123456789abcdef") != 16)
        goto out;
    rc =
        mf_queue_near_dups(ctx->redis, ctx->opts, ctx->id, phash,
                           (int)ctx->cfg->image_near_dup_bits, dups, MF_NEAR_DUP_LIST_MAX, &n, err);
    if (rc < 0)
        goto out;
    list = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{s:s,s:i}", "id", dups[i].id, "distance", dups[i].distance));
    json_object_set_new(meta, "near_duplicates", list);
out:
    return rc;
}
