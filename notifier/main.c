/* mf-notifier: signed webhooks (Standard Webhooks) for record events. Reads the same
 * configuration as every mediafleet binary; runs until SIGTERM/SIGINT (drains: the requests
 * in flight finish, everything else stays in Redis for the next run). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "mf/config.h"
#include "mf/log.h"
#include "webhook.h"

int main(int argc, char **argv)
{
    mf_config cfg;
    mf_err err;
    int check = 0;
    int rc;

    mf_log_init("notifier", "info");
    rc = mf_config_load(&cfg, NULL, &argc, argv, &err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            fputs("mf-notifier " MF_VERSION "\n", stdout);
            goto out;
        } else {
            mf_log(MF_LOG_ERROR, "msg=\"unknown argument\" arg=\"%s\"", argv[i]);
            rc = 2;
            goto out;
        }
    }
    if (rc < 0) {
        mf_log(MF_LOG_ERROR, "msg=\"configuration invalid\" error=\"%s\"", err.msg);
        rc = 2;
        goto out;
    }
    mf_log_init(NULL, cfg.log_level);
    if (check) {
        mf_wh_endpoint *eps = NULL;
        int64_t sched[MF_WH_SCHEDULE_MAX];
        int n = mf_wh_endpoints_parse(&cfg, &eps, &err);

        mf_wh_endpoints_free(eps, n > 0 ? n : 0);
        if (n >= 0 &&
            mf_wh_schedule_parse(cfg.webhook_retry_schedule, sched, MF_WH_SCHEDULE_MAX, &err) < 0)
            n = -1;
        mf_config_dump(&cfg, stdout, 0);
        if (n < 0)
            fprintf(stderr, "mf-notifier: %s\n", err.msg);
        rc = n < 0 ? 2 : 0;
        goto out;
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = mf_notifier_run(&cfg, &err);
    curl_global_cleanup();
    if (rc < 0) {
        mf_log(MF_LOG_ERROR, "msg=\"stopped\" error=\"%s\"", err.msg);
        rc = err.code == MF_ECONFIG ? 2 : 1;
    } else {
        mf_log(MF_LOG_INFO, "msg=\"stopped\"");
    }
out:
    mf_config_close(&cfg);
    return rc;
}
