/* mf_worker_main(): the command line of every mf-worker-<lane> binary (see mf/worker.h). */
#include <stdio.h>
#include <string.h>
#include "mf/log.h"
#include "mf/worker.h"
#include "runtime.h"

static void mf__usage(const mf_lane *lane, FILE *out)
{
    fprintf(out,
            "usage: mf-worker-%s [--config FILE] [--name=value ...]      claim jobs from Redis\n"
            "       mf-worker-%s process FILE [--profile P] [--out DIR]  one file, no Redis\n"
            "       mf-worker-%s --check-config                          validate and exit\n",
            lane->name, lane->name, lane->name);
}

/* Removes the flags that are ours rather than config entries from argv: --check-config,
 * --help. Returns 1 when help was asked for. */
static int mf__take_flags(int *argc, char **argv, int *check)
{
    int i, o = 1, help = 0;

    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[o++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--check-config") == 0)
            *check = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            help = 1;
        else
            argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return help;
}

/* nginx -t: the configuration loads, and the lane accepts its entries (formats, sizes). */
static int mf__check_config(const mf_lane *lane, const mf_config *cfg)
{
    mf_err err;
    int rc;

    mf_err_clear(&err);
    rc = lane->init(cfg, &err);
    if (rc < 0) {
        fprintf(stderr, "mf-worker-%s: %s\n", lane->name, err.msg);
        return MF_EXIT_USAGE;
    }
    if (lane->shutdown != NULL)
        lane->shutdown();
    mf_config_dump(cfg, stdout, 0);
    fprintf(stderr, "mf-worker-%s: configuration ok\n", lane->name);
    return MF_EXIT_OK;
}

int mf_worker_main(const mf_lane *lane, int argc, char **argv)
{
    int check = 0, status = MF_EXIT_USAGE, loaded = 0;
    char role[32];
    mf_config cfg;
    mf_err err;

    memset(&cfg, 0, sizeof(cfg));
    mf_err_clear(&err);
    if (mf__take_flags(&argc, argv, &check)) {
        mf__usage(lane, stdout);
        status = MF_EXIT_OK;
        goto out;
    }
    if (mf_config_load(&cfg, NULL, &argc, argv, &err) < 0) {
        fprintf(stderr, "mf-worker-%s: %s\n", lane->name, err.msg);
        goto out;
    }
    loaded = 1;
    snprintf(role, sizeof(role), "worker-%s", lane->name);
    if (mf_log_init(role, cfg.log_level) < 0) {
        fprintf(stderr, "mf-worker-%s: unknown log_level \"%s\"\n", lane->name, cfg.log_level);
        goto out;
    }
    if (check)
        status = mf__check_config(lane, &cfg);
    else if (argc >= 2 && strcmp(argv[1], "process") == 0)
        status = mf__oneshot_main(lane, &cfg, argc - 1, argv + 1);
    else if (argc == 1)
        status = mf__worker_run(lane, &cfg);
    else {
        fprintf(stderr, "mf-worker-%s: unexpected argument \"%s\"\n", lane->name, argv[1]);
        mf__usage(lane, stderr);
    }
out:
    if (loaded)
        mf_config_close(&cfg);
    return status;
}
