/* libFuzzer harness for mf-notifier's configuration parsers: any bytes as webhook_urls,
 * webhook_endpoints, webhook_secret, webhook_events and webhook_retry_schedule (one per line)
 * must give endpoints or MF_ECONFIG, without reading or writing out of bounds. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char *field[5] = {"", "", "", "", ""};
    int64_t sched[MF_WH_SCHEDULE_MAX];
    mf_wh_endpoint *eps = NULL;
    mf_config cfg;
    mf_err err;
    char *p;
    int n;

    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    p = s;
    for (int i = 0; i < 5 && p != NULL; i++) {
        field[i] = p;
        p = strchr(p, '\n');
        if (p != NULL)
            *p++ = '\0';
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.webhook_urls = field[0];
    cfg.webhook_endpoints = field[1];
    cfg.webhook_secret = field[2];
    cfg.webhook_events = field[3];
    n = mf_wh_endpoints_parse(&cfg, &eps, &err);
    assert(n == MF_ECONFIG || (n >= 0 && n <= MF_WH_ENDPOINTS_MAX));
    for (int i = 0; i < n; i++) {
        assert(eps[i].nkeys >= 1 && eps[i].nkeys <= MF_WH_SECRETS_MAX);
        mf_wh_endpoint_wants(&eps[i], "done");
    }
    mf_wh_endpoints_free(eps, n > 0 ? n : 0);
    n = mf_wh_schedule_parse(field[4], sched, MF_WH_SCHEDULE_MAX, &err);
    assert(n == MF_ECONFIG || (n >= 1 && n <= MF_WH_SCHEDULE_MAX));
    free(s);
    return 0;
}
