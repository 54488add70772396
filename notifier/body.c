/* The JSON body of a webhook: the event type and a summary of the record, built with
 * jansson from the record's HGETALL at the time the event was read. The event's own fields
 * win over the record's (by then the record may have moved on: a "processing" event read
 * after the job finished still says processing). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mf/clock.h"
#include "webhook.h"

static const char *mf__get(const char *const *kv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (strcmp(kv[i], name) == 0)
            return kv[i + 1];
    }
    return NULL;
}

/* The event's value, else the record's, else NULL. */
static const char *mf__pick(const char *const *rec, size_t nrec, const char *const *ev, size_t nev,
                            const char *name)
{
    const char *v = mf__get(ev, nev, name);

    return v != NULL ? v : mf__get(rec, nrec, name);
}

static json_t *mf__str_or_null(const char *v)
{
    return v != NULL && v[0] != '\0' ? json_string(v) : json_null();
}

static json_t *mf__int_or_null(const char *v)
{
    char *end = NULL;
    long long n;

    if (v == NULL || v[0] == '\0')
        return json_null();
    n = strtoll(v, &end, 10);
    return *end == '\0' ? json_integer(n) : json_null();
}

/* meta.outputs and meta.provenance when the record's meta has them: what the lane recorded
 * about each output and what made them (the rest of meta stays in the record). */
static void mf__meta(json_t *data, const char *meta_text)
{
    json_t *meta = meta_text ? json_loads(meta_text, 0, NULL) : NULL;
    json_t *out = json_object();

    if (json_is_object(meta)) {
        static const char *const keep[] = {"outputs", "provenance"};
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            json_t *v = json_object_get(meta, keep[i]);
            if (v != NULL)
                json_object_set(out, keep[i], v);
        }
    }
    if (json_object_size(out) > 0)
        json_object_set(data, "meta", out);
    json_decref(out);
    json_decref(meta);
}

char *mf_wh_body(const char *const *rec, size_t nrec, const char *const *ev, size_t nev,
                 int64_t event_ms)
{
    static const char *const strs[] = {"id",          "path",      "profile",    "status",
                                       "error",       "sha256",    "mime",       "duplicate_of",
                                       "received_at", "queued_at", "started_at", "finished_at"};
    static const char *const ints[] = {"size", "process_duration_ms", "attempts"};
    const char *status = mf__pick(rec, nrec, ev, nev, "status");
    const char *outputs = mf__get(rec, nrec, "outputs");
    char type[64], when[MF_ISO_TIME_LEN];
    json_t *root = json_object();
    json_t *data = json_object();
    json_t *outs;
    char *text;

    snprintf(type, sizeof(type), "record.%s", status ? status : "unknown");
    json_object_set_new(root, "type", json_string(type));
    json_object_set_new(root, "timestamp", json_string(mf_clock_iso(event_ms, when, sizeof(when))));
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        json_object_set_new(data, strs[i], mf__str_or_null(mf__pick(rec, nrec, ev, nev, strs[i])));
    /* the record calls the lane "type"; the webhook says lane, type is the event's */
    json_object_set_new(data, "lane", mf__str_or_null(mf__pick(rec, nrec, ev, nev, "type")));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        json_object_set_new(data, ints[i], mf__int_or_null(mf__pick(rec, nrec, ev, nev, ints[i])));
    outs = outputs ? json_loads(outputs, 0, NULL) : NULL;
    json_object_set_new(data, "outputs", json_is_array(outs) ? outs : json_array());
    if (!json_is_array(outs))
        json_decref(outs);
    mf__meta(data, mf__get(rec, nrec, "meta"));
    json_object_set_new(root, "data", data);
    text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    if (text == NULL)
        abort();
    return text;
}
