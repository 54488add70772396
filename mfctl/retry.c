/* mfctl retry <id|path>... | --all [LANE]: a failed file gets a fresh start (status queued,
 * attempts 0, a new job on its lane, its dead-letter entries removed): mf_queue_retry().
 * mfctl reprocess <id|path>... | --lane LANE | --all: a done file runs again (after a settings
 * change or an upgrade): mf_queue_reprocess(); new outputs replace the old ones in one rename
 * (workers/runtime/run.c) and the record keeps its id. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mf/lanes.h"
#include "mf/queue.h"
#include "mfctl.h"

typedef struct mf__again {
    const mf_ctl *ctx;
    mf_redis *r;
    int reprocess; /* 0: retry failed files; 1: reprocess done ones */
    long long queued, failed;
} mf__again_ctx;

/* One record by id: queued again, or an error printed. Always returns 0 (keep going). */
static int mf__again_id(const char *id, void *ud)
{
    mf__again_ctx *a = ud;
    int removed = 0, rc;
    mf_err err;

    if (a->reprocess)
        rc = mf_queue_reprocess(a->r, a->ctx->cfg.prefix, a->ctx->cfg.events_maxlen, id, &err);
    else
        rc =
            mf_queue_retry(a->r, a->ctx->cfg.prefix, a->ctx->cfg.events_maxlen, id, &removed, &err);
    if (rc < 0) {
        mf_ctl_errorf("%s %s: %s", a->reprocess ? "reprocess" : "retry", id, err.msg);
        a->failed++;
        return rc == MF_EREDIS ? rc : 0;
    }
    a->queued++;
    printf("%s queued again%s\n", id, removed > 0 ? " (removed from the dlq)" : "");
    return 0;
}

static int mf__again_target(mf__again_ctx *a, const char *target)
{
    char id[MF_ID_LEN];
    mf_err err;
    int rc = mf_ctl_resolve(a->ctx, a->r, target, id, &err);

    if (rc <= 0) {
        mf_ctl_errorf("%s %s: %s", a->reprocess ? "reprocess" : "retry", target,
                      rc == 0 ? "no such record" : err.msg);
        a->failed++;
        return rc;
    }
    return mf__again_id(id, a);
}

/* Shared by both commands: targets, or --all [LANE] / --lane LANE. */
static int mf__again(mf_ctl *ctx, int argc, char **argv, int reprocess)
{
    const char *cmd = reprocess ? "reprocess" : "retry";
    const char *lane = NULL;
    mf__again_ctx a = {.ctx = ctx, .reprocess = reprocess};
    int all = 0, ntargets = 0, rc = 0;
    mf_err err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            all = 1;
        } else if (strcmp(argv[i], "--lane") == 0 && i + 1 < argc) {
            lane = argv[++i];
        } else if (argv[i][0] == '-') {
            mf_ctl_errorf("%s: unexpected argument '%s' (see mfctl %s --help)", cmd, argv[i], cmd);
            return MF_CTL_EXIT_USAGE;
        } else if (all && !reprocess && lane == NULL &&
                   mf_lanes_find(argv[i], strlen(argv[i])) != NULL) {
            lane = argv[i]; /* retry --all LANE */
        } else {
            ntargets++;
        }
    }
    if (lane != NULL && mf_lanes_find(lane, strlen(lane)) == NULL) {
        mf_ctl_errorf("%s: unknown lane '%s' (lanes: %s)", cmd, lane, mf_lanes_list());
        return MF_CTL_EXIT_USAGE;
    }
    if ((ntargets > 0) == (all || lane != NULL)) {
        mf_ctl_errorf("usage: mfctl %s <id | path>... | %s", cmd,
                      reprocess ? "--lane LANE | --all" : "--all [LANE]");
        return MF_CTL_EXIT_USAGE;
    }
    if (mf_ctl_connect(ctx, &a.r, &err) < 0)
        return MF_CTL_EXIT_FAIL;
    if (ntargets == 0) {
        rc = mf_ctl_scan_records(ctx, a.r, reprocess ? "done" : "failed", lane, mf__again_id, &a,
                                 &err);
        if (rc < 0)
            mf_ctl_errorf("%s: %s", cmd, err.msg);
        else
            printf("%lld file%s queued again\n", a.queued, a.queued == 1 ? "" : "s");
    }
    for (int i = 1; ntargets > 0 && rc >= 0 && i < argc; i++) {
        if (strcmp(argv[i], "--lane") == 0)
            i++;
        else if (argv[i][0] != '-')
            rc = mf__again_target(&a, argv[i]);
    }
    mf_redis_free(a.r);
    return rc < 0 || a.failed > 0 ? MF_CTL_EXIT_FAIL : 0;
}

int mf_ctl_retry(mf_ctl *ctx, int argc, char **argv)
{
    return mf__again(ctx, argc, argv, 0);
}

int mf_ctl_reprocess(mf_ctl *ctx, int argc, char **argv)
{
    return mf__again(ctx, argc, argv, 1);
}
