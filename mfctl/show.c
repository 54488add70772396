/* mfctl show <path|id> [--json]: one record, as a person reads it (the contract's fields in
 * its order, outputs one per line, meta as indented JSON) or as raw JSON for scripts. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mf/id.h"
#include "mf/queue.h"
#include "mfctl.h"

#define MF__KEY_MAX 256
#define MF__LABEL_WIDTH 22 /* "process_duration_ms: " */

static const char *const mf__show_order[] = {
    "id",          "path",      "size",       "mime",        "type",
    "sha256",      "profile",   "status",     "progress",    "eta_s",
    "received_at", "queued_at", "started_at", "finished_at", "process_duration_ms",
    "attempts",    "worker",    "outputs",    "meta",        "error",
    "duplicate_of"};
#define MF__NORDER (sizeof(mf__show_order) / sizeof(mf__show_order[0]))

static void mf__show_label(const char *name)
{
    printf("%s:%*s", name, (int)(MF__LABEL_WIDTH - strlen(name) - 1), "");
}

static void mf__show_value(const char *name, const json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;

        printf("%s:\n", name);
        json_array_foreach(v, i, item)
        {
            fputs("  ", stdout);
            mf_ctl_print_safe(stdout, json_is_string(item) ? json_string_value(item) : "?", 0);
            fputc('\n', stdout);
        }
    } else if (json_is_object(v)) {
        char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        printf("%s:\n  ", name);
        for (const char *p = text ? text : "{}"; *p != '\0'; p++) {
            fputc(*p, stdout);
            if (*p == '\n')
                fputs("  ", stdout);
        }
        fputc('\n', stdout);
        free(text);
    } else if (json_is_string(v)) {
        if (json_string_length(v) == 0)
            return; /* a field not set yet (started_at of a queued file...) */
        mf__show_label(name);
        mf_ctl_print_safe(stdout, json_string_value(v), 0);
        fputc('\n', stdout);
    } else if (!json_is_null(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);

        mf__show_label(name);
        printf("%s\n", text ? text : "?");
        free(text);
    }
}

static void mf__show_print(const json_t *rec)
{
    const char *name;
    const json_t *v;

    for (size_t i = 0; i < MF__NORDER; i++) {
        v = json_object_get(rec, mf__show_order[i]);
        if (v != NULL)
            mf__show_value(mf__show_order[i], v);
    }
    json_object_foreach((json_t *)rec, name, v)
    {
        size_t i = 0;
        while (i < MF__NORDER && strcmp(name, mf__show_order[i]) != 0)
            i++;
        if (i == MF__NORDER)
            mf__show_value(name, v);
    }
}

static int mf__show_args(int argc, char **argv, const char **target, int *raw)
{
    *target = NULL;
    *raw = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            *raw = 1;
        else if (strncmp(argv[i], "--", 2) == 0)
            break; /* an unknown option */
        else if (*target == NULL)
            *target = argv[i];
        else
            break;
    }
    if (*target != NULL && argc <= 2 + *raw)
        return 0;
    mf_ctl_errorf("usage: mfctl show [--json] <path-in-inbox | file | id>");
    return MF_CTL_EXIT_USAGE;
}

int mf_ctl_show(mf_ctl *ctx, int argc, char **argv)
{
    char id[MF_ID_LEN];
    const char *target;
    char *text = NULL;
    json_t *rec = NULL;
    json_error_t jerr;
    mf_redis *r = NULL;
    mf_err err;
    int raw;
    int rc = mf__show_args(argc, argv, &target, &raw);

    if (rc != 0)
        return rc;
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc < 0)
        goto fail;
    rc = mf_ctl_resolve(ctx, r, target, id, &err);
    if (rc == 0) {
        mf_ctl_errorf("show: no record for '%s' (not an id, nor a path in %s%s)", target,
                      ctx->cfg.prefix, "paths");
        rc = MF_CTL_EXIT_FAIL;
        goto out;
    }
    if (rc > 0)
        rc = mf_queue_record_json(r, ctx->cfg.prefix, id, &text, &err);
    if (rc < 0)
        goto fail;
    rec = raw ? NULL : json_loads(text, 0, &jerr);
    if (raw || rec == NULL)
        printf("%s\n", text);
    else
        mf__show_print(rec);
    goto out;
fail:
    if (r != NULL)
        mf_ctl_errorf("show: %s", err.msg);
    rc = MF_CTL_EXIT_FAIL;
out:
    json_decref(rec);
    free(text);
    mf_redis_free(r);
    return rc;
}
