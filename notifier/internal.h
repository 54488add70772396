/* mf-notifier's loop, shared by notifier.c (Redis: events, deliveries, state) and deliver.c
 * (HTTP: curl on the loop, resolution, admission). One thread: everything runs on the loop. */
#ifndef MF_NOTIFIER_INTERNAL_H
#define MF_NOTIFIER_INTERNAL_H

#include <curl/curl.h>
#include <hiredis/async.h>
#include <netdb.h>
#include <stdint.h>
#include <uv.h>

#include "webhook.h"

#ifndef MF_VERSION
#define MF_VERSION "dev"
#endif

#define MF__GROUP "notifier"
#define MF__KEY_MAX 512
#define MF__DKEY_MAX (MF__KEY_MAX + 160) /* <prefix>webhooks:d:<delivery key> */
/* Events read per XREADGROUP; BLOCK long enough to cost nothing, short enough that a
 * drain is not held up (the reader connection is dropped on SIGTERM anyway). */
#define MF__READ_COUNT 200
#define MF__READ_BLOCK_MS 1000
/* Deliveries held in memory at most: reading events pauses above it (backpressure), so
 * memory stays flat however far behind the receivers are. */
#define MF__KNOWN_MAX 4096
/* Requests in flight at most (each has a curl easy handle and maybe a connection). */
#define MF__INFLIGHT_MAX 512
#define MF__SCAN_MS 1000
#define MF__SCAN_BATCH 256
/* A live notifier acknowledges an event within milliseconds: one pending for a minute
 * belongs to a notifier that died. */
#define MF__CLAIM_IDLE_MS 60000
/* A resolved endpoint address is reused this long: DNS changes are seen within a minute. */
#define MF__RESOLVE_TTL_MS 60000
/* Response bytes read at most (kept: the first MF__RESP_KEEP for the log). */
#define MF__RESP_MAX 65536
#define MF__RESP_KEEP 200
#define MF__LOG_MAXLEN 100000
#define MF__HTAB 8192
/* Reconnect back-off, as queues/redis.c: a restart takes ~100 ms, a long outage costs at most
 * 5 s of extra delay. */
#define MF__BACKOFF_MIN_MS 100
#define MF__BACKOFF_MAX_MS 5000

typedef struct mf__notifier mf__notifier;
typedef struct mf__delivery mf__delivery;

typedef struct mf__ep {
    mf_wh_endpoint *cfg;
    int disabled;
    int disable_unsaved; /* disabled here; Redis does not know yet */
    char reason[160];
    int64_t disabled_at_ms;
    int64_t failing_since_ms; /* first failure since the last success; 0 = none */
    unsigned changed_seq;     /* n->state_seq when we last changed the state ourselves */
    long long ok, failed;
    long last_status;
    int64_t last_attempt_ms;
    char last_error[256];
    /* the address curl is told to use, checked by us */
    char host[256];
    long port;
    int literal; /* the URL's host is an IP address: no DNS, nothing to pin */
    char addr[INET6_ADDRSTRLEN];
    char refused[400]; /* non-empty: every address of the host was refused */
    int64_t resolved_mono;
    int resolving;
    uv_getaddrinfo_t gai;
    mf__delivery *wait_head, *wait_tail; /* waiting for the resolution */
    mf__delivery *q_head, *q_tail;       /* waiting for a free request slot */
    int inflight;
    int h2; /* the server speaks HTTP/2: requests share connections */
    mf__notifier *n;
} mf__ep;

struct mf__delivery {
    mf__notifier *n;
    char key[160]; /* "<msg_id>:<endpoint id>" */
    char msg_id[64];
    char event_id[48];
    char *url;
    mf__ep *ep;
    char *type;
    char *body;
    size_t body_len;
    int attempt; /* attempts made before the current one */
    int loaded;  /* fields filled (a scan placeholder is not) */
    CURL *easy;
    struct curl_slist *headers, *resolve;
    char resp[MF__RESP_KEEP + 1];
    size_t resp_len, resp_total;
    int refused;
    char why[200]; /* what the address check refused (curl's error buffer is error) */
    char error[CURL_ERROR_SIZE + 256];
    mf__delivery *next;  /* endpoint wait list or the ready queue */
    mf__delivery *hnext; /* hash chain */
};

typedef struct mf__sock {
    uv_poll_t poll;
    curl_socket_t fd;
    mf__notifier *n;
} mf__sock;

struct mf__notifier {
    const mf_config *cfg;
    uv_loop_t *loop;
    redisAsyncContext *rd, *wr;
    int rd_up, wr_up;
    CURLM *multi;
    uv_timer_t curl_timer, scan_timer;
    uv_signal_t sig_term, sig_int;
    mf_wh_endpoint *cfg_eps;
    mf__ep *eps;
    int neps;
    int64_t schedule[MF_WH_SCHEDULE_MAX];
    int nsched;
    char consumer[128];
    char k_events[MF__KEY_MAX], k_pending[MF__KEY_MAX], k_log[MF__KEY_MAX];
    char k_dlq[MF__KEY_MAX], k_endpoints[MF__KEY_MAX], k_d[MF__KEY_MAX], k_file[MF__KEY_MAX];
    int reading; /* an XREADGROUP is outstanding */
    int backlog; /* still reading our own pending entries (after a crash) */
    char backlog_id[48];
    int events_busy;    /* events of the last batch not yet acknowledged */
    int started;        /* endpoints state loaded: reading may begin */
    unsigned state_seq; /* HGETALLs of the endpoints hash issued so far */
    size_t known;
    mf__delivery *htab[MF__HTAB];
    mf__delivery *ready_head, *ready_tail;
    int inflight;
    int draining;
    int closing;
    int wr_closing; /* redisAsyncDisconnect() of the writer was called */
    mf_wh_redis_url url;
    uv_timer_t reconnect_timer;
    int64_t backoff_ms;      /* next reconnect delay */
    int redis_lost;          /* logged once per outage */
    int resetting;           /* freeing the connections ourselves: no reconnect from callbacks */
    int64_t read_pause_mono; /* no XREADGROUP before this (after an error reply) */
    unsigned scans;
    int claiming; /* an XAUTOCLAIM is outstanding */
};

/* notifier.c */
/* Drops a delivery from memory (Redis has its state). */
void mf__forget(mf__delivery *d);
/* Records an attempt and applies the policy: delivered, retry later, dead-letter. */
void mf__settle(mf__delivery *d, long http, int64_t ms, int64_t retry_after_s,
                mf_wh_outcome outcome);
void mf__maybe_finish_drain(mf__notifier *n);

/* deliver.c */
/* Attempts a loaded delivery now, or queues it for a slot or a resolution. */
void mf__start(mf__delivery *d);
/* Starts what waits for a global slot / for one of the endpoint's slots. */
void mf__pump(mf__notifier *n);
void mf__ep_pump(mf__ep *ep);
/* CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION on the loop. */
int mf__curl_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp);
int mf__curl_timer(CURLM *multi, long timeout_ms, void *userp);

#endif
