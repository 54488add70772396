/* GET /metrics: Prometheus text format 0.0.4, built from mf_queue_status_json() and the
 * counters of <prefix>stats (queue.h): a scrape costs a few Redis commands per lane and one
 * per live worker, whatever the number of records (no SCAN).
 *
 * When Redis does not answer, the scrape still succeeds with mediafleet_redis_up 0 and the
 * build info, so an alert can tell "Redis down" from "gateway down". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "mf/queue.h"

#ifndef MF_VERSION
#define MF_VERSION "unknown"
#endif
#define MF__STR2(x) #x
#define MF__STR(x) MF__STR2(x)

/* A label value with \ " and newline escaped (the format's only escapes). */
static void mf__label(FILE *f, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void mf__head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static long long mf__int(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* One gauge per lane from a field of the status lanes. */
static void mf__lane_gauge(FILE *f, const json_t *lanes, const char *name, const char *field,
                           const char *help)
{
    size_t i;
    const json_t *l;

    mf__head(f, name, "gauge", help);
    json_array_foreach(lanes, i, l)
    {
        const json_t *v = json_object_get(l, field);
        fputs(name, f);
        fputs("{lane=\"", f);
        mf__label(f, json_string_value(json_object_get(l, "lane")));
        if (json_is_boolean(v))
            fprintf(f, "\"} %d\n", json_is_true(v));
        else if (json_is_integer(v))
            fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
        else
            fputs("\"} NaN\n", f);
    }
}

/* A per-lane map (records by status, finished by outcome) as name{lane,<label>}. */
static void mf__lane_map(FILE *f, const json_t *lanes, const char *name, const char *type,
                         const char *field, const char *label, const char *help)
{
    size_t i;
    const json_t *l, *v;
    const char *k;

    mf__head(f, name, type, help);
    json_array_foreach(lanes, i, l)
    {
        json_object_foreach(json_object_get(l, field), k, v)
        {
            fprintf(f, "%s{lane=\"", name);
            mf__label(f, json_string_value(json_object_get(l, "lane")));
            fprintf(f, "\",%s=\"%s\"} %lld\n", label, k, (long long)json_integer_value(v));
        }
    }
}

static void mf__histograms(FILE *f, const json_t *lanes, const json_t *stats)
{
    static const long long bounds[] = MF_QUEUE_STATS_BUCKETS_MS;
    const char *name = "mediafleet_job_duration_seconds";
    char key[256];
    size_t i;
    const json_t *l;

    mf__head(f, name, "histogram", "Time a worker spent on one delivery of a job, any outcome.");
    json_array_foreach(lanes, i, l)
    {
        const char *lane = json_string_value(json_object_get(l, "lane"));
        long long count;

        for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
            snprintf(key, sizeof(key), "duration:%s:le_ms:%lld", lane, bounds[b]);
            fprintf(f, "%s_bucket{lane=\"", name);
            mf__label(f, lane);
            fprintf(f, "\",le=\"%g\"} %lld\n", (double)bounds[b] / 1000.0, mf__int(stats, key));
        }
        snprintf(key, sizeof(key), "duration:%s:count", lane);
        count = mf__int(stats, key);
        fprintf(f, "%s_bucket{lane=\"", name);
        mf__label(f, lane);
        fprintf(f, "\",le=\"+Inf\"} %lld\n%s_sum{lane=\"", count, name);
        mf__label(f, lane);
        snprintf(key, sizeof(key), "duration:%s:sum_ms", lane);
        fprintf(f, "\"} %.3f\n%s_count{lane=\"", (double)mf__int(stats, key) / 1000.0, name);
        mf__label(f, lane);
        fprintf(f, "\"} %lld\n", count);
    }
}

static void mf__fleet(FILE *f, const json_t *st, const json_t *stats)
{
    static const char *const disp[][2] = {
        {"files_seen", "Complete uploads the dispatcher inspected and submitted."},
        {"files_recorded", "Uploads the dispatcher recorded (queued, duplicate, unsupported)."},
        {"rescans", "Full scans of the inbox (start, Redis reconnect, inotify overflow)."},
        {"inotify_overflows", "Times the inotify queue overflowed (events lost, rescanned)."}};
    const json_t *lanes = json_object_get(st, "lanes"), *v;
    const json_t *dispatcher = json_object_get(st, "dispatcher");
    const char *k;

    mf__lane_gauge(f, lanes, "mediafleet_lane_queued_jobs", "queued",
                   "Jobs waiting in the lane's stream (consumer group lag; NaN: unknown).");
    mf__lane_gauge(f, lanes, "mediafleet_lane_in_flight_jobs", "in_flight",
                   "Jobs delivered to a worker and not yet acknowledged.");
    mf__lane_gauge(f, lanes, "mediafleet_lane_dlq_jobs", "dlq",
                   "Jobs in the lane's dead-letter stream.");
    mf__lane_gauge(f, lanes, "mediafleet_lane_workers", "workers", "Live workers of the lane.");
    mf__lane_gauge(f, lanes, "mediafleet_lane_paused", "paused", "1 while the lane is paused.");
    mf__head(f, "mediafleet_host_workers", "gauge", "Live workers per host.");
    json_object_foreach(json_object_get(json_object_get(st, "workers"), "hosts"), k, v)
    {
        fputs("mediafleet_host_workers{host=\"", f);
        mf__label(f, k);
        fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
    }
    mf__head(f, "mediafleet_running_jobs", "gauge", "Jobs a live worker is running now.");
    fprintf(f, "mediafleet_running_jobs %zu\n", json_array_size(json_object_get(st, "running")));
    mf__lane_map(f, lanes, "mediafleet_records", "gauge", "records", "status",
                 "Records by lane and status.");
    mf__lane_map(f, lanes, "mediafleet_jobs_finished_total", "counter", "finished", "outcome",
                 "Deliveries ended, by outcome: done, failed (final) or retried.");
    mf__histograms(f, lanes, stats);
    for (size_t i = 0; i < sizeof(disp) / sizeof(disp[0]); i++) {
        char name[96];

        snprintf(name, sizeof(name), "mediafleet_dispatcher_%s_total", disp[i][0]);
        mf__head(f, name, "counter", disp[i][1]);
        fprintf(f, "%s %lld\n", name, mf__int(dispatcher, disp[i][0]));
    }
}

enum MHD_Result mf_gw_metrics(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    mf_redis *r = NULL;
    json_t *st = NULL, *stats = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mf_err err;
    enum MHD_Result ret;
    int rc;

    if (f == NULL)
        abort();
    rc = mf_gw_redis_get(g, &r, &err);
    if (rc == 0)
        rc = mf_queue_status_json(r, g->cfg->prefix, &st, &stats, &err);
    mf_gw_redis_put(g, r, rc < 0);
    mf__head(f, "mediafleet_build_info", "gauge",
             "Versions of the gateway and of the libraries it runs with.");
    fprintf(f,
            "mediafleet_build_info{version=\"%s\",hiredis=\"%d.%d.%d\",jansson=\"%s\","
            "microhttpd=\"%s\"} 1\n",
            MF_VERSION, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, JANSSON_VERSION,
            MHD_get_version());
    mf__head(f, "mediafleet_redis_up", "gauge", "1 when Redis answered this scrape.");
    fprintf(f, "mediafleet_redis_up %d\n", rc == 0);
    if (rc == 0)
        mf__fleet(f, st, stats);
    fclose(f);
    ret = mf_gw_reply(c, rq, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, 1);
    free(text);
    json_decref(st);
    json_decref(stats);
    return ret;
}
