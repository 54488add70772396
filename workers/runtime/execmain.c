/* mf_exec_main(): the command line of every mf-exec-<lane> binary (see mf/worker.h). The
 * supervisor mf-worker-<lane> runs it as its executor child, and execv()s it for the modes
 * that run the lane in the calling process: one-shot and --check-config. */
#include <stdio.h>
#include <string.h>
#include "mf/executor.h"
#include "mf/log.h"
#include "mf/worker.h"
#include "runtime.h"

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

int mf_exec_main(const mf_lane *lane, int argc, char **argv)
{
    int check = 0, status = MF_EXIT_USAGE, loaded = 0;
    char role[32];
    mf_config cfg;
    mf_err err;

    if (argc >= 2 && strncmp(argv[1], MF_EXEC_FLAG, strlen(MF_EXEC_FLAG)) == 0)
        mf__exec_program(lane, argc, argv);
    memset(&cfg, 0, sizeof(cfg));
    mf_err_clear(&err);
    if (mf__take_flags(&argc, argv, &check)) {
        fprintf(stdout, "usage: mf-exec-%s is run by mf-worker-%s; see mf-worker-%s --help\n",
                lane->name, lane->name, lane->name);
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
    else if (argc >= 2)
        fprintf(stderr, "mf-worker-%s: unexpected argument \"%s\"\n", lane->name, argv[1]);
    else
        fprintf(stderr, "mf-worker-%s: the executor runs jobs for mf-worker-%s, not on its own\n",
                lane->name, lane->name);
out:
    if (loaded)
        mf_config_close(&cfg);
    return status;
}
