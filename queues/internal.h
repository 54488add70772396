/* Internals shared by the files of queues/ (libuv's uv-common.h): not part of the API. */
#ifndef MF_QUEUES_INTERNAL_H
#define MF_QUEUES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "mf/redis.h"

/* A Lua script of the job protocol (scripts.c): name as passed to mf_redis_script(), source
 * with the prelude already prepended. */
typedef struct mf__script {
    const char *name;
    const char *source;
} mf__script;

extern const mf__script mf__scripts[];
extern const size_t mf__nscripts;

/* Index of a script by name, or -1. */
int mf__script_find(const char *name);

/* Read/write timeout for commands on r, now and after every reconnect; 0 restores the
 * default. A blocking XREADGROUP needs longer than its BLOCK time. */
void mf__redis_set_timeout(mf_redis *r, int64_t ms);

#endif
