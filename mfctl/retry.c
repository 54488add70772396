/* mfctl retry <id|path>...: a failed file gets a fresh start (status queued, attempts 0, a new
 * job on its lane, its dead-letter entries removed): mf_queue_retry(), one script. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mf/queue.h"
#include "mfctl.h"

static int mf__retry_one(const mf_ctl *ctx, mf_redis *r, const char *target, mf_err *err)
{
    char id[MF_ID_LEN];
    int removed = 0;
    int rc = mf_ctl_resolve(ctx, r, target, id, err);

    if (rc == 0)
        rc = mf_err_set(err, MF_EINVAL, "no record for '%s'", target);
    if (rc < 0)
        goto out;
    rc = mf_queue_retry(r, ctx->cfg.prefix, ctx->cfg.events_maxlen, id, &removed, err);
    if (rc == -ENOENT)
        rc = mf_err_set(err, MF_EINVAL, "no record %s", id);
    if (rc < 0)
        goto out;
    printf("%s queued again%s\n", id, removed > 0 ? " (removed from the dlq)" : "");
out:
    return rc;
}

int mf_ctl_retry(mf_ctl *ctx, int argc, char **argv)
{
    mf_redis *r = NULL;
    mf_err err;
    int failed = 0;
    int rc;

    if (argc < 2) {
        mf_ctl_errorf("usage: mfctl retry <id | path-in-inbox>...");
        return MF_CTL_EXIT_USAGE;
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc < 0)
        goto out;
    for (int i = 1; i < argc; i++) {
        if (mf__retry_one(ctx, r, argv[i], &err) < 0) {
            mf_ctl_errorf("retry %s: %s", argv[i], err.msg);
            failed++;
        }
    }
out:
    mf_redis_free(r);
    return rc < 0 || failed > 0 ? MF_CTL_EXIT_FAIL : 0;
}
