/* A Redis connection that comes back: hiredis 0.14 (blocking API), opened from a URL,
 * reconnected with backoff when Redis restarts, with our Lua scripts loaded on every
 * (re)connect.
 *
 * URL forms: redis://[[user]:password@]host[:port][/db]   unix:///abs/path.sock[?db=N][&password=P]
 * (host may be [IPv6]; the password is percent-decoded).
 *
 * Ownership: mf_redis_new() returns a heap object freed by mf_redis_free() (NULL-safe).
 * Thread safety: one thread per mf_redis. */
#ifndef MF_REDIS_H
#define MF_REDIS_H

#include <hiredis/hiredis.h>
#include "mf/err.h"

typedef struct mf_redis mf_redis;

/* Parses url and connects once. On failure returns MF_EREDIS / MF_ECONFIG (bad URL) with err
 * set, and *out is NULL. */
int mf_redis_new(mf_redis **out, const char *url, mf_err *err);
void mf_redis_free(mf_redis *r);

/* Names the connection (CLIENT SETNAME) now and on every reconnect, so `CLIENT LIST` and
 * `mfctl status` can tell workers apart. name must have no spaces. Returns 0 or an error. */
int mf_redis_set_name(mf_redis *r, const char *name, mf_err *err);

/* Makes sure the connection is up: reconnects with backoff (100 ms doubling to 5 s) until it
 * is, or until *stop becomes non-zero (stop may be NULL: try once). Returns 0 or MF_EREDIS. */
int mf_redis_ensure(mf_redis *r, volatile int *stop, mf_err *err);

/* Read/write timeout of one command (default 15 s), now and after every reconnect; 0
 * restores the default. A server that stops answering (SIGSTOP, a dead path) makes commands
 * fail with MF_EREDIS after this long. */
void mf_redis_set_timeout(mf_redis *r, int64_t ms);

/* The live context, or NULL while disconnected. For pipelining with redisAppendCommand /
 * redisGetReply; after an I/O error call mf_redis_mark_broken(). */
redisContext *mf_redis_ctx(mf_redis *r);
void mf_redis_mark_broken(mf_redis *r);

/* One command (printf-style like redisCommand). On success *reply owns the reply (free with
 * freeReplyObject) and 0 is returned; an error reply is returned as MF_EPROTO with its text in
 * err (and *reply NULL). A dropped connection is retried once after one reconnect attempt;
 * otherwise MF_EREDIS. */
int mf_redis_cmd(mf_redis *r, redisReply **reply, mf_err *err, const char *fmt, ...);
int mf_redis_cmdargv(mf_redis *r, redisReply **reply, mf_err *err, int argc, const char **argv,
                     const size_t *argvlen);

/* Runs a registered script by name (see queues/scripts.c) with EVALSHA, loading it again on
 * NOSCRIPT. argv holds the ARGV values (no keys: every script derives keys from the prefix in
 * ARGV[1]). Reply ownership as for mf_redis_cmd. */
int mf_redis_script(mf_redis *r, const char *name, redisReply **reply, mf_err *err, int argc,
                    const char **argv, const size_t *argvlen);

/* Appends an EVALSHA of a script to the pipeline (read replies with redisGetReply). */
int mf_redis_script_append(mf_redis *r, const char *name, int argc, const char **argv,
                           const size_t *argvlen, mf_err *err);

#endif
