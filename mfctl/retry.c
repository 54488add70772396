/* mfctl retry <id|path>...: a failed file gets a fresh start (status queued, attempts 0, a new
 * job on its lane, its dead-letter entries removed), in one script so a worker never sees
 * half of it.
 *
 * TODO(queues): this is a state change of the job protocol and belongs beside the others as
 * queues/lua/retry.lua + mf_queue_retry(); it is here until queues/ has it. Its event has the
 * shape of the others (id status type path attempts). */
#include <string.h>

#include "mf/clock.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mfctl.h"

/* ARGV: prefix events_maxlen id now. Returns the number of DLQ entries removed, or an error
 * reply a person can read. */
static const char mf__retry_lua[] =
    "local P, id, now = ARGV[1], ARGV[3], ARGV[4]\n"
    "local fkey = P .. 'file:' .. id\n"
    "local f = redis.call('HMGET', fkey, 'status', 'type', 'path')\n"
    "if not f[1] then return redis.error_reply('no record ' .. id) end\n"
    "if f[1] ~= 'failed' then\n"
    "  return redis.error_reply('status is ' .. f[1] .. '; only failed files are retried')\n"
    "end\n"
    "local lane, path = f[2], f[3] or ''\n"
    "local q = P .. 'q:' .. lane\n"
    "if redis.call('EXISTS', q) == 0 then\n"
    "  redis.call('XGROUP', 'CREATE', q, 'workers', '0', 'MKSTREAM')\n"
    "end\n"
    "redis.call('HSET', fkey, 'status', 'queued', 'attempts', '0', 'error', '', 'queued_at',\n"
    "  now, 'started_at', '', 'finished_at', '', 'process_duration_ms', '', 'worker', '')\n"
    "redis.call('XADD', q, '*', 'id', id)\n"
    "local dlq, removed = P .. 'dlq:' .. lane, 0\n"
    "for _, e in ipairs(redis.call('XRANGE', dlq, '-', '+')) do\n"
    "  for i = 1, #e[2], 2 do\n"
    "    if e[2][i] == 'id' and e[2][i + 1] == id then\n"
    "      removed = removed + redis.call('XDEL', dlq, e[1])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "redis.call('XADD', P .. 'events', 'MAXLEN', '~', ARGV[2], '*', 'id', id, 'status',\n"
    "  'queued', 'type', lane, 'path', path, 'attempts', '0')\n"
    "local ev = {id = id, status = 'queued', type = lane, attempts = 0}\n"
    "if not string.find(path, '[\\128-\\255]') then ev.path = path end\n"
    "redis.call('PUBLISH', P .. 'events', cjson.encode(ev))\n"
    "return removed\n";

static int mf__retry_one(const mf_ctl *ctx, mf_redis *r, const char *target, mf_err *err)
{
    char id[MF_ID_LEN];
    char now[MF_ISO_TIME_LEN];
    char maxlen[24];
    redisReply *reply = NULL;
    int rc = mf_ctl_resolve(ctx, r, target, id, err);

    if (rc == 0)
        rc = mf_err_set(err, MF_EINVAL, "no record for '%s'", target);
    if (rc < 0)
        goto out;
    mf_clock_iso(mf_clock_now_ms(), now, sizeof(now));
    snprintf(maxlen, sizeof(maxlen), "%lld", (long long)ctx->cfg.events_maxlen);
    rc = mf_redis_cmd(r, &reply, err, "EVAL %s 0 %s %s %s %s", mf__retry_lua, ctx->cfg.prefix,
                      maxlen, id, now);
    if (rc < 0)
        goto out;
    printf("%s queued again%s\n", id, reply->integer > 0 ? " (removed from the dlq)" : "");
out:
    freeReplyObject(reply);
    return rc;
}

int mf_ctl_retry(mf_ctl *ctx, int argc, char **argv)
{
    mf_redis *r = NULL;
    mf_err err;
    int failed = 0;
    int rc;

    if (argc < 2) {
        mf_ctl_errorf("usage: mfctl retry <id | path-in-inbox>...");
        return MF_CTL_EXIT_USAGE;
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc < 0)
        goto out;
    for (int i = 1; i < argc; i++) {
        if (mf__retry_one(ctx, r, argv[i], &err) < 0) {
            mf_ctl_errorf("retry %s: %s", argv[i], err.msg);
            failed++;
        }
    }
out:
    mf_redis_free(r);
    return rc < 0 || failed > 0 ? MF_CTL_EXIT_FAIL : 0;
}
