/* mf_worker_main(): the command line of every mf-worker-<lane> binary (see mf/worker.h).
 *
 * This binary links no media library: an idle worker holding Redis should cost what its own
 * code needs, not the mapping and relocation of a hundred decoder libraries it never calls.
 * The lane runs in mf-exec-<lane>: the executor child execv()s it in run mode, and the modes
 * that run the lane in the calling process (one-shot, --check-config) execv() it in place. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mf/executor.h"
#include "mf/log.h"
#include "mf/worker.h"
#include "runtime.h"

static void mf__usage(const char *lane, FILE *out)
{
    fprintf(out,
            "usage: mf-worker-%s [--config FILE] [--name=value ...]      claim jobs from Redis\n"
            "       mf-worker-%s process FILE [--profile P] [--out DIR]  one file, no Redis\n"
            "       mf-worker-%s --check-config                          validate and exit\n",
            lane, lane, lane);
}

int mf__take_flags(int *argc, char **argv, int *check)
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

/* One-shot and --check-config run the lane in this process: become the executor program,
 * with the same arguments and environment. Returns only on failure. */
static int mf__worker_become(const char *lane, const char *exe, char **orig)
{
    orig[0] = (char *)exe;
    execv(exe, orig);
    fprintf(stderr, "mf-worker-%s: execv() failed on %s: %s\n", lane, exe, strerror(errno));
    return MF_EXIT_FAILED;
}

/* Run mode: the Redis loop, with mf-exec-<lane> as the executor, given the configuration
 * arguments (args, n) this process was started with. */
static int mf__worker_serve(const mf_lane *lane, const mf_config *cfg, const char *exe, int n,
                            char **args)
{
    /* the lane's init/process/shutdown run in exe; this process keeps the name and finish */
    const mf_lane side = {.name = lane->name, .finish = lane->finish};
    mf_executor *ex = mf_executor_new(&side, cfg);
    int status;

    mf_executor_set_program(ex, exe, n, args);
    status = mf__worker_run(&side, cfg, ex);
    mf_executor_free(ex);
    return status;
}

int mf_worker_main(const char *lane, int argc, char **argv)
{
    const mf_lane side = {.name = lane};

    return mf_worker_main_lane(&side, argc, argv);
}

int mf_worker_main_lane(const mf_lane *side, int argc, char **argv)
{
    const char *lane = side->name;
    int check = 0, status = MF_EXIT_USAGE, loaded = 0, nargs;
    char role[32], exe[PATH_MAX], **orig, **args;
    mf_config cfg;
    mf_err err;

    /* Copies of the command line before the parsers below take their flags out: orig for an
     * executor that replaces this process, args (config entries only) for the executor child. */
    orig = mf_xmalloc(((size_t)argc + 1) * sizeof(*orig));
    args = mf_xmalloc(((size_t)argc + 1) * sizeof(*args));
    memcpy(orig, argv, ((size_t)argc + 1) * sizeof(*orig));
    memset(&cfg, 0, sizeof(cfg));
    mf_err_clear(&err);
    if (mf_lanes_find(lane, strlen(lane)) == NULL) {
        fprintf(stderr, "mf-worker-%s: '%s' is not in the lane registry (lanes: %s)\n", lane, lane,
                mf_lanes_list());
        goto out;
    }
    if (mf__take_flags(&argc, argv, &check)) {
        mf__usage(lane, stdout);
        status = MF_EXIT_OK;
        goto out;
    }
    memcpy(args, argv, ((size_t)argc + 1) * sizeof(*args));
    nargs = argc - 1;
    if (mf_config_load(&cfg, NULL, &argc, argv, &err) < 0) {
        fprintf(stderr, "mf-worker-%s: %s\n", lane, err.msg);
        goto out;
    }
    loaded = 1;
    snprintf(role, sizeof(role), "worker-%s", lane);
    if (mf_log_init(role, cfg.log_level) < 0) {
        fprintf(stderr, "mf-worker-%s: unknown log_level \"%s\"\n", lane, cfg.log_level);
        goto out;
    }
    if (!check && argc >= 2 && strcmp(argv[1], "process") != 0) {
        fprintf(stderr, "mf-worker-%s: unexpected argument \"%s\"\n", lane, argv[1]);
        mf__usage(lane, stderr);
        goto out;
    }
    if (mf_executor_find(lane, exe, sizeof(exe), &err) < 0) {
        fprintf(stderr, "mf-worker-%s: %s\n", lane, err.msg);
        status = MF_EXIT_FAILED;
        goto out;
    }
    if (check || argc >= 2) {
        mf_config_close(&cfg);
        loaded = 0;
        status = mf__worker_become(lane, exe, orig);
        goto out;
    }
    status = mf__worker_serve(side, &cfg, exe, nargs, args + 1);
out:
    if (loaded)
        mf_config_close(&cfg);
    free(args);
    free(orig);
    return status;
}
