/* mf-dispatcher: watches the inbox and records and enqueues every completed upload.
 *
 *   mf-dispatcher [--config FILE] [--name=value ...]   run until SIGTERM/SIGINT
 *   mf-dispatcher --check-config                       print the effective config, exit */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf/config.h"
#include "mf/dispatch.h"
#include "mf/fsutil.h"
#include "mf/log.h"

static void mf__usage(FILE *out)
{
    fprintf(out, "usage: mf-dispatcher [--config FILE] [--check-config] [--<setting>=VALUE ...]\n"
                 "Settings also come from MF_<SETTING> environment variables; see "
                 "mfctl check-config.\n");
}

/* What --check-config can verify without running: the values the dispatcher needs. */
static int mf__validate(const mf_config *cfg, mf_err *err)
{
    struct stat st;

    if (cfg->redis_url[0] == '\0')
        return mf_err_set(err, MF_ECONFIG,
                          "redis_url is empty: set MF_REDIS_URL (mfctl up sets it for the "
                          "fleet it starts)");
    if (strncmp(cfg->redis_url, "redis://", 8) != 0 && strncmp(cfg->redis_url, "unix://", 7) != 0)
        return mf_err_set(err, MF_ECONFIG, "redis_url must start with redis:// or unix://");
    if (strcmp(cfg->watch, "auto") != 0 && strcmp(cfg->watch, "inotify") != 0 &&
        strcmp(cfg->watch, "poll") != 0)
        return mf_err_set(err, MF_ECONFIG, "watch '%s' is not one of auto inotify poll",
                          cfg->watch);
    if (stat(cfg->inbox, &st) < 0 || !S_ISDIR(st.st_mode))
        return mf_err_set(err, MF_ECONFIG, "inbox %s is not a folder", cfg->inbox);
    if (mf_log_init("dispatcher", cfg->log_level) < 0)
        return mf_err_set(err, MF_ECONFIG, "log_level '%s' is not one of debug info warn error",
                          cfg->log_level);
    return 0;
}

int main(int argc, char **argv)
{
    mf_config cfg;
    mf_err err = {0};
    int check = 0;
    int rc;

    rc = mf_config_load(&cfg, NULL, &argc, argv, &err);
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            mf__usage(stdout);
            goto out;
        } else {
            rc = mf_err_set(&err, MF_ECONFIG, "unknown argument '%s'", argv[i]);
        }
    }
    /* An empty shared volume (a fresh Kubernetes claim) has no inbox yet: the dispatcher, which
     * owns it, makes it. --check-config only says what is there. */
    if (rc == 0 && !check && cfg.inbox[0] != '\0' && access(cfg.inbox, F_OK) < 0 && errno == ENOENT)
        rc = mf_fs_mkdirs(cfg.inbox, &err);
    if (rc == 0)
        rc = mf__validate(&cfg, &err);
    if (rc < 0) {
        fprintf(stderr, "mf-dispatcher: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    if (check) {
        mf_config_dump(&cfg, stdout, 0);
        goto out;
    }
    rc = mf_dispatch_run(&cfg, &err);
    if (rc < 0) {
        mf_log_error(MF_LOG_ERROR, err.msg, "msg=\"dispatcher failed\"");
        rc = rc == MF_ECONFIG ? 2 : 1;
    }
out:
    mf_config_close(&cfg);
    return rc;
}
