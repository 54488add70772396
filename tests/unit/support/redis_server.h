/* A private redis-server for the unit tests that need a real one (test_queue*.c): started on a
 * unix socket in $MF_TEST_TMP/<name>.<pid>, no persistence, killed and cleaned up at the end.
 * Single-threaded test programs only. */
#ifndef MF_TEST_REDIS_SERVER_H
#define MF_TEST_REDIS_SERVER_H

#include <stdint.h>
#include <hiredis/hiredis.h>
#include "mf/redis.h"

extern char mf_test_redis_sock[256]; /* the socket path */
extern char mf_test_redis_url[300];  /* "unix://<socket>" for mf_redis_new() */

/* Creates the directory (first call) and starts the server; returns once it answers PING,
 * 0, or -1 after 10 s. Call again after mf_test_redis_kill() to restart it. */
int mf_test_redis_start(const char *name);
/* Sends sig to the server and reaps it. */
void mf_test_redis_kill(int sig);
/* Stops the server and removes its socket, log and directory. */
void mf_test_redis_stop(void);
/* A new connection for assertions, independent of the code under test (5 s timeouts), or
 * NULL. The caller frees it with redisFree(). */
redisContext *mf_test_redis_raw(void);
void mf_test_sleep_ms(int64_t ms);

/* cmocka group set-up and tear-down: logging at "error" under the program's name, and the
 * server (started in $MF_TEST_TMP/<program>.<pid>, stopped and removed). */
int mf_test_redis_group_setup(void **state);
int mf_test_redis_group_teardown(void **state);
/* A test's two connections to an emptied server (FLUSHALL): raw for assertions, independent
 * of the code under test, and r for the code under test. */
typedef struct mf_test_fx {
    mf_redis *r;
    redisContext *raw;
} mf_test_fx;
/* cmocka per-test set-up and tear-down: *state is a new mf_test_fx, freed after the test. */
int mf_test_redis_setup(void **state);
int mf_test_redis_teardown(void **state);

#endif
