/* mfctl status [--json]: the fleet at a glance, from mf_queue_status_json() (queues/status.c),
 * the same object the gateway serves at /api/status: per lane jobs waiting, in flight, dead,
 * live workers (registry heartbeats) and whether it is paused; live workers per host; running
 * jobs like `docker ps` (id, lane, host, elapsed, progress, path); jobs whose worker is gone
 * (stalled) with when they are reclaimed; records by status (counters, no SCAN).
 *
 * --json prints that object as it is: its schema is documented in mf/queue.h and README. */
#include <stdlib.h>
#include <string.h>

#include "mf/queue.h"
#include "mfctl.h"

static const char *const mf__statuses[] = {"queued", "processing", "done",
                                           "failed", "duplicate",  "unsupported"};
#define MF__NSTATUS (sizeof(mf__statuses) / sizeof(mf__statuses[0]))

static long long mf__int(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* "image=2 video=1" for one host's workers, from the lanes' hosts objects. */
static void mf__status_hosts(const json_t *st)
{
    const json_t *hosts = json_object_get(json_object_get(st, "workers"), "hosts");
    const json_t *lanes = json_object_get(st, "lanes");
    const char *host;
    json_t *n;

    json_object_foreach((json_t *)hosts, host, n)
    {
        size_t i;
        json_t *l;

        printf("host ");
        mf_ctl_print_safe(stdout, host, 0);
        putchar(':');
        json_array_foreach(lanes, i, l)
        {
            long long k = mf__int(json_object_get(l, "hosts"), host);

            if (k > 0)
                printf(" %s=%lld", json_string_value(json_object_get(l, "lane")), k);
        }
        printf(" (%lld workers)\n", (long long)json_integer_value(n));
    }
}

static void mf__status_lanes(const json_t *st)
{
    const json_t *lanes = json_object_get(st, "lanes");
    size_t i;
    json_t *l;

    printf("%-8s %8s %10s %8s %8s %7s\n", "lane", "queued", "in_flight", "dlq", "workers",
           "paused");
    json_array_foreach(lanes, i, l)
    {
        const json_t *q = json_object_get(l, "queued");
        char queued[32];

        if (json_is_integer(q))
            snprintf(queued, sizeof(queued), "%lld", (long long)json_integer_value(q));
        else
            snprintf(queued, sizeof(queued), "?");
        printf("%-8s %8s %10lld %8lld %8lld %7s\n", json_string_value(json_object_get(l, "lane")),
               queued, mf__int(l, "in_flight"), mf__int(l, "dlq"), mf__int(l, "workers"),
               json_is_true(json_object_get(l, "paused")) ? "yes" : "-");
    }
}

static void mf__status_running(const json_t *st)
{
    const json_t *running = json_object_get(st, "running");
    size_t i;
    json_t *j;

    if (json_array_size(running) == 0)
        return;
    printf("\nrunning:\n%-26s %-6s %-16s %8s %8s %6s  %s\n", "ID", "LANE", "HOST", "ELAPSED",
           "PROGRESS", "ETA", "PATH");
    json_array_foreach(running, i, j)
    {
        const json_t *p = json_object_get(j, "progress"), *eta = json_object_get(j, "eta_s");
        const char *path = json_string_value(json_object_get(j, "path"));
        char prog[16] = "-", etas[16] = "-";

        if (json_is_integer(p))
            snprintf(prog, sizeof(prog), "%lld%%", (long long)json_integer_value(p));
        if (json_is_integer(eta))
            snprintf(etas, sizeof(etas), "%llds", (long long)json_integer_value(eta));
        printf("%-26s %-6s %-16s %7.1fs %8s %6s  ", json_string_value(json_object_get(j, "id")),
               json_string_value(json_object_get(j, "lane")),
               json_is_string(json_object_get(j, "host"))
                   ? json_string_value(json_object_get(j, "host"))
                   : "?",
               json_real_value(json_object_get(j, "elapsed_s")), prog, etas);
        mf_ctl_print_safe(stdout, path != NULL ? path : "?", 0);
        putchar('\n');
    }
}

/* Stalled: delivered to a worker without a heartbeat; reclaimed once idle for the visibility
 * timeout. */
static void mf__status_stalled(const mf_ctl *ctx, const json_t *st)
{
    const json_t *stalled = json_object_get(st, "stalled");
    double vis = (double)ctx->cfg.visibility_timeout;
    size_t i;
    json_t *j;

    if (json_array_size(stalled) == 0)
        return;
    printf("\nstalled (worker gone):\n%-26s %-6s %-24s %8s  %s\n", "ID", "LANE", "WORKER", "IDLE",
           "RECLAIMED");
    json_array_foreach(stalled, i, j)
    {
        double idle = json_real_value(json_object_get(j, "idle_s"));
        const char *id = json_string_value(json_object_get(j, "id"));

        printf("%-26s %-6s %-24s %7.0fs  ", id != NULL ? id : "?",
               json_string_value(json_object_get(j, "lane")),
               json_string_value(json_object_get(j, "worker")), idle);
        if (idle >= vis)
            printf("at the next claim\n");
        else
            printf("in %.0f s\n", vis - idle);
    }
}

static void mf__status_totals(const json_t *st)
{
    const json_t *t = json_object_get(st, "totals");

    printf("\nfiles    total=%lld", mf__int(t, "total"));
    for (size_t k = 0; k < MF__NSTATUS; k++)
        printf(" %s=%lld", mf__statuses[k], mf__int(t, mf__statuses[k]));
    printf("\n");
}

int mf_ctl_status(mf_ctl *ctx, int argc, char **argv)
{
    json_t *st = NULL;
    mf_redis *r = NULL;
    int json = 0, rc;
    mf_err err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        mf_ctl_errorf("status: unexpected argument '%s' (see mfctl status --help)", argv[i]);
        return MF_CTL_EXIT_USAGE;
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc == 0)
        rc = mf_queue_status_json(r, ctx->cfg.prefix, &st, NULL, &err);
    if (rc < 0) {
        if (r != NULL)
            mf_ctl_errorf("status: %s", err.msg);
        goto out;
    }
    if (json) {
        char *text = json_dumps(st, JSON_INDENT(2));

        if (text == NULL)
            abort();
        puts(text);
        free(text);
        goto out;
    }
    mf__status_lanes(st);
    mf__status_hosts(st);
    mf__status_running(st);
    mf__status_stalled(ctx, st);
    mf__status_totals(st);
out:
    json_decref(st);
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}
