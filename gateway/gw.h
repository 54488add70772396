/* mf-gateway internals shared by its files (not a public API).
 *
 * Threads: libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION), so
 * a handler may block on Redis or on a file; Redis connections come from a small pool
 * (pool.c) guarded by a mutex, one connection per request at a time, and a server-sent
 * events stream holds its own for as long as it lasts. Everything in mf_gw is read-only
 * once the daemon runs, except the pool (mutex) and `stopping` (atomic). */
#ifndef MF_GW_H
#define MF_GW_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mf/config.h"
#include "mf/err.h"
#include "mf/redis.h"

/* Idle Redis connections kept for the next requests. */
#define MF_GW_POOL_MAX 8
/* Command timeout on the gateway's Redis connections: its commands are O(lanes), so a
 * Redis that takes longer is not answering (readiness turns 503 within this). */
#define MF_GW_REDIS_TIMEOUT_MS 1500
/* libmicrohttpd's per-connection buffer: it bounds the memory of a streamed upload chunk. */
#define MF_GW_CONN_MEMORY 65536
#define MF_GW_CONN_LIMIT 256
/* Idle keep-alive connections are closed after this (seconds). */
#define MF_GW_CONN_TIMEOUT_S 120

typedef struct mf_gw {
    const mf_config *cfg;
    struct MHD_Daemon *daemon;
    int outbox_fd; /* O_PATH|O_DIRECTORY: every output opened beneath it */
    int inbox_fd;
    pthread_mutex_t pool_lock;
    mf_redis *pool[MF_GW_POOL_MAX];
    int npool;
    atomic_int stopping;
} mf_gw;

/* One request's state (MHD's *con_cls): what the log line and the upload need. */
typedef struct mf_gw_upload_state mf_gw_upload_state;
typedef struct mf_gw_req {
    int64_t t0_us; /* monotonic, microseconds */
    char method[8];
    char *path; /* the URL path as received (decoded), for the log */
    unsigned status;
    uint64_t bytes; /* body bytes of the response (known size, or counted by a stream) */
    mf_gw_upload_state *up;
} mf_gw_req;

/* pool.c: a connection for this request (connected, or an error: Redis down). */
int mf_gw_redis_get(mf_gw *g, mf_redis **r, mf_err *err);
/* Gives it back (failed: its command failed; it is kept all the same, see pool.c). */
void mf_gw_redis_put(mf_gw *g, mf_redis *r, int failed);
void mf_gw_pool_close(mf_gw *g);

/* http.c: replies. Each queues a response and returns what the access handler returns. */
enum MHD_Result mf_gw_reply(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                            const char *type, const void *body, size_t len, int copy);
enum MHD_Result mf_gw_reply_json(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                                 const char *json_text);
/* {"error": "<msg>"} with status. */
enum MHD_Result mf_gw_reply_error(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Queues r (taking ownership) with the common headers. */
enum MHD_Result mf_gw_queue(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                            struct MHD_Response *r);
/* Percent-encodes s for a URL query value or path (keeps / when keep_slash). Heap. */
char *mf_gw_urlencode(const char *s, int keep_slash);

/* api.c */
enum MHD_Result mf_gw_healthz(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);
enum MHD_Result mf_gw_readyz(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);
enum MHD_Result mf_gw_status(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);
enum MHD_Result mf_gw_file_record(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq,
                                  const char *id);
enum MHD_Result mf_gw_file_by_path(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);
/* Reads the record of id into *rec (a JSON object). 0, -ENOENT or an error. */
int mf_gw_record(mf_gw *g, const char *id, json_t **rec, mf_err *err);

/* metrics.c */
enum MHD_Result mf_gw_metrics(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);

/* events.c */
enum MHD_Result mf_gw_events(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);

/* files.c: GET /files/<id>/<name> */
enum MHD_Result mf_gw_output(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *rest);

/* upload.c: called for every access-handler call of a PUT /api/upload/<rel> or POST
 * /api/upload; upload_data as MHD gives it. */
enum MHD_Result mf_gw_upload(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq, const char *url,
                             const char *upload_data, size_t *upload_data_size);
void mf_gw_upload_free(mf_gw_upload_state *up);

/* page.c: GET / */
enum MHD_Result mf_gw_page(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq);

#endif
