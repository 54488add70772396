/* The JSON API: health, readiness, status (mf_queue_status_json, what `mfctl status --json`
 * prints) and records (mf_queue_record_json, what `mfctl show --json` prints). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"
#include "mf/id.h"
#include "mf/limits.h"
#include "mf/queue.h"

enum MHD_Result mf_gw_healthz(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    return mf_gw_reply(c, rq, MHD_HTTP_OK, "text/plain", "ok\n", 3, 0);
}

enum MHD_Result mf_gw_readyz(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    mf_redis *r = NULL;
    redisReply *rep = NULL;
    mf_err err;
    char msg[sizeof(err.msg) + 32];
    int rc = mf_gw_redis_get(g, &r, &err);
    enum MHD_Result ret;

    if (rc == 0)
        rc = mf_redis_cmd(r, &rep, &err, "PING");
    freeReplyObject(rep);
    mf_gw_redis_put(g, r, rc < 0);
    if (rc == 0)
        return mf_gw_reply(c, rq, MHD_HTTP_OK, "text/plain", "ready\n", 6, 0);
    snprintf(msg, sizeof(msg), "not ready: %s\n", err.msg);
    ret = mf_gw_reply(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", msg, strlen(msg), 1);
    return ret;
}

enum MHD_Result mf_gw_status(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    mf_redis *r = NULL;
    json_t *st = NULL;
    char *text = NULL;
    mf_err err;
    enum MHD_Result ret;
    int rc = mf_gw_redis_get(g, &r, &err);

    if (rc == 0)
        rc = mf_queue_status_json(r, g->cfg->prefix, &st, NULL, &err);
    mf_gw_redis_put(g, r, rc < 0);
    if (rc < 0)
        return mf_gw_reply_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
    text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ret = mf_gw_reply_json(c, rq, MHD_HTTP_OK, text != NULL ? text : "{}");
    free(text);
    json_decref(st);
    return ret;
}

int mf_gw_record(mf_gw *g, const char *id, json_t **rec, mf_err *err)
{
    mf_redis *r = NULL;
    char *text = NULL;
    json_error_t jerr;
    int rc = mf_gw_redis_get(g, &r, err);

    *rec = NULL;
    if (rc == 0)
        rc = mf_queue_record_json(r, g->cfg->prefix, id, &text, err);
    mf_gw_redis_put(g, r, rc < 0 && rc != -ENOENT);
    if (rc == 0) {
        *rec = json_loads(text, 0, &jerr);
        if (*rec == NULL)
            rc = mf_err_set(err, MF_EPROTO, "record %s: %s", id, jerr.text);
    }
    free(text);
    return rc;
}

static enum MHD_Result mf__reply_record(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq,
                                        const char *id)
{
    mf_redis *r = NULL;
    char *text = NULL;
    mf_err err;
    enum MHD_Result ret;
    int rc;

    if (!mf_id_valid(id))
        return mf_gw_reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "not an id");
    rc = mf_gw_redis_get(g, &r, &err);
    if (rc == 0)
        rc = mf_queue_record_json(r, g->cfg->prefix, id, &text, &err);
    mf_gw_redis_put(g, r, rc < 0 && rc != -ENOENT);
    if (rc == -ENOENT)
        ret = mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "no record %s", id);
    else if (rc < 0)
        ret = mf_gw_reply_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
    else
        ret = mf_gw_reply_json(c, rq, MHD_HTTP_OK, text);
    free(text);
    return ret;
}

enum MHD_Result mf_gw_file_record(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *id)
{
    return mf__reply_record(g, c, rq, id);
}

/* GET /api/files?path=<rel>: the latest upload at that path (<prefix>paths). */
enum MHD_Result mf_gw_file_by_path(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    const char *path = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");
    char key[256], id[MF_ID_LEN] = "";
    mf_redis *r = NULL;
    redisReply *rep = NULL;
    mf_err err;
    int rc;

    if (path == NULL || path[0] == '\0' || strlen(path) >= MF_PATH_MAX)
        return mf_gw_reply_error(c, rq, MHD_HTTP_BAD_REQUEST, "path= is required");
    snprintf(key, sizeof(key), "%spaths", g->cfg->prefix);
    rc = mf_gw_redis_get(g, &r, &err);
    if (rc == 0)
        rc = mf_redis_cmd(r, &rep, &err, "HGET %s %s", key, path);
    if (rc == 0 && rep->type == REDIS_REPLY_STRING && rep->len < MF_ID_LEN)
        memcpy(id, rep->str, rep->len + 1);
    freeReplyObject(rep);
    mf_gw_redis_put(g, r, rc < 0);
    if (rc < 0)
        return mf_gw_reply_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
    if (id[0] == '\0')
        return mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "no record for this path");
    return mf__reply_record(g, c, rq, id);
}
