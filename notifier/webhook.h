/* mf-notifier internals: the pure parts (signing, endpoint configuration, retry policy,
 * address checks, the JSON body) that tests/unit/test_notifier.c links, and the loop
 * (notifier.c for Redis, deliver.c for HTTP; internal.h) that drives hiredis and libcurl on
 * one libuv loop.
 *
 * Ownership: mf_wh_endpoints_parse() fills a caller-owned array freed with
 * mf_wh_endpoints_free(); strings returned by mf_wh_body() are the caller's (free()).
 * Thread safety: single-threaded program; everything runs on the loop's thread. */
#ifndef MF_WEBHOOK_H
#define MF_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mf/config.h"
#include "mf/err.h"

#define MF_WH_SECRETS_MAX 2 /* the current secret and the one being rotated out */
#define MF_WH_KEY_MAX 64    /* decoded secret bytes; Standard Webhooks uses 24..64 */
#define MF_WH_ENDPOINTS_MAX 64
#define MF_WH_SCHEDULE_MAX 32 /* attempts at most */
#define MF_WH_SIG_LEN 48      /* "v1," + 44 base64 chars of a SHA-256 + NUL */
#define MF_WH_EP_ID_LEN 17    /* 16 hex digits of SHA-256(url) + NUL */

typedef struct mf_wh_endpoint {
    char *url;
    char id[MF_WH_EP_ID_LEN]; /* stable name of the URL in Redis keys */
    char *events;             /* ",done,failed," (with leading and trailing comma) or "*" */
    int nkeys;
    unsigned char key[MF_WH_SECRETS_MAX][MF_WH_KEY_MAX];
    size_t keylen[MF_WH_SECRETS_MAX];
} mf_wh_endpoint;

/* Decodes a "whsec_<base64>" secret (the prefix is optional, as in the reference
 * libraries) into key. Returns 0 or MF_ECONFIG. */
int mf_wh_secret_decode(const char *secret, unsigned char key[MF_WH_KEY_MAX], size_t *keylen,
                        mf_err *err);

/* The Standard Webhooks signature "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>". */
int mf_wh_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp,
               const char *body, size_t body_len, char out[MF_WH_SIG_LEN]);

/* The webhook-signature header value: one signature per key, separated by a space. */
void mf_wh_signature_header(const mf_wh_endpoint *ep, const char *msg_id, int64_t timestamp,
                            const char *body, size_t body_len, char *out, size_t size);

/* Endpoints from webhook_urls, webhook_secret, webhook_events and webhook_endpoints. Every
 * URL must be http(s) with a host and every endpoint needs a secret. A URL named in both
 * lists takes the webhook_endpoints item. Returns the count (0 when none are configured) or
 * MF_ECONFIG. */
int mf_wh_endpoints_parse(const mf_config *cfg, mf_wh_endpoint **out, mf_err *err);
void mf_wh_endpoints_free(mf_wh_endpoint *eps, int n);

/* The host (IPv6 without brackets) and port (the scheme's default when none) of a URL;
 * returns 1 when the host is an IP address. */
int mf_wh_url_host(const char *url, char *host, size_t size, long *port);

/* 1 when the endpoint wants events of this record status. */
int mf_wh_endpoint_wants(const mf_wh_endpoint *ep, const char *status);

/* Parses "0,5,300" into seconds; returns the number of attempts or MF_ECONFIG. */
int mf_wh_schedule_parse(const char *spec, int64_t *secs, int max, mf_err *err);

/* What happens after an attempt. */
typedef enum mf_wh_outcome {
    MF_WH_OK,      /* 2xx: delivered */
    MF_WH_RETRY,   /* timeout, connection error, 5xx, 429, 408: try again later */
    MF_WH_FAIL,    /* refused address, 3xx, other 4xx: dead-letter now */
    MF_WH_DISABLE, /* 410 Gone: disable the endpoint, dead-letter */
} mf_wh_outcome;

/* Classifies an attempt: curl_code is the CURLcode of the transfer, http the response
 * status (0 when none), refused is set when the address check stopped it. */
mf_wh_outcome mf_wh_classify(int curl_code, long http, int refused);

/* Milliseconds to wait before the next attempt (attempt = attempts made so far, >= 1):
 * schedule[attempt] seconds plus up to 20 % jitter (rnd in [0, 1)), at least retry_after_s
 * when the receiver sent Retry-After (capped at a day). */
int64_t mf_wh_backoff_ms(const int64_t *schedule, int attempt, int64_t retry_after_s, double rnd);

/* 1 when the address may be connected to: never private (10/8, 172.16/12, 192.168/16,
 * 100.64/10, fc00::/7), loopback, link-local, unspecified, multicast or reserved ranges,
 * unless allow_private. IPv4-mapped IPv6 addresses are judged as IPv4. *why names the
 * range refused. */
int mf_wh_addr_allowed(const struct sockaddr *sa, int allow_private, const char **why);

/* The JSON body of a webhook: {"type":"record.<status>","timestamp":...,"data":{summary}}.
 * fields are the record's HGETALL pairs (may be empty: the event's own fields are used),
 * ev the event's pairs; both as name, value, name, value ... Returns a heap string. */
char *mf_wh_body(const char *const *rec, size_t nrec, const char *const *ev, size_t nev,
                 int64_t event_ms);

/* Where Redis is, for hiredis' async API (the blocking connection of queues/redis.c does
 * not fit a libuv loop): redis://[:password@]host[:port][/db] or
 * unix:///path[?db=N][&password=P]. Returns 0 or MF_ECONFIG. */
typedef struct mf_wh_redis_url {
    char host[256];
    int port;
    char sock[256];
    char password[256];
    long db;
} mf_wh_redis_url;
int mf_wh_redis_url_parse(const char *url, mf_wh_redis_url *u, mf_err *err);

/* The loop: reads <prefix>events and delivers until SIGTERM/SIGINT, waiting for Redis and
 * reconnecting when it goes away. Returns 0, or MF_ECONFIG for a bad configuration. */
int mf_notifier_run(const mf_config *cfg, mf_err *err);

#endif
