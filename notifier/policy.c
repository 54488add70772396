/* What the notifier decides without I/O: which endpoints exist (configuration), which
 * events they want, when an attempt is retried, and which addresses may be connected to. */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

#define MF__DAY_S 86400

static char *mf__strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p == NULL)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- endpoints -------------------------------------------------------------------------- */

/* A URL curl parses, with scheme http or https and a host. */
static int mf__url_check(const char *url, mf_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = 0;

    if (u == NULL)
        abort();
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = mf_err_set(err, MF_ECONFIG, "webhook URL '%s' is not a URL with a host", url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = mf_err_set(err, MF_ECONFIG, "webhook URL '%s': only http and https are allowed", url);
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Secrets separated by any of seps: "whsec_a whsec_b" or "whsec_a,whsec_b". */
static int mf__secrets(mf_wh_endpoint *ep, const char *s, size_t n, const char *seps, mf_err *err)
{
    size_t i = 0;
    int rc = 0;

    ep->nkeys = 0;
    while (rc == 0 && i < n) {
        size_t len;
        char *one;

        while (i < n && strchr(seps, s[i]) != NULL)
            i++;
        for (len = 0; i + len < n && strchr(seps, s[i + len]) == NULL;)
            len++;
        if (len == 0)
            break;
        if (ep->nkeys == MF_WH_SECRETS_MAX)
            return mf_err_set(err, MF_ECONFIG, "webhook %s: more than %d secrets", ep->url,
                              MF_WH_SECRETS_MAX);
        one = mf__strndup(s + i, len);
        rc = mf_wh_secret_decode(one, ep->key[ep->nkeys], &ep->keylen[ep->nkeys], err);
        free(one);
        ep->nkeys += rc == 0;
        i += len;
    }
    if (rc == 0 && ep->nkeys == 0)
        rc = mf_err_set(err, MF_ECONFIG,
                        "webhook %s has no secret: set webhook_secret (whsec_<base64>)", ep->url);
    return rc;
}

/* ",done,failed," so that a status matches as ",<status>,"; spaces dropped. */
static char *mf__events(const char *s, size_t n)
{
    char *out = malloc(n + 3);
    size_t o = 0;

    if (out == NULL)
        abort();
    out[o++] = ',';
    for (size_t i = 0; i < n; i++) {
        if (!isspace((unsigned char)s[i]))
            out[o++] = (char)tolower((unsigned char)s[i]);
    }
    out[o++] = ',';
    out[o] = '\0';
    if (strcmp(out, ",*,") == 0) {
        out[0] = '*';
        out[1] = '\0';
    }
    return out;
}

static int mf__endpoint_init(mf_wh_endpoint *ep, const char *url, size_t url_len,
                             const char *secret, size_t secret_len, const char *seps,
                             const char *events, size_t events_len, mf_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int rc;

    memset(ep, 0, sizeof(*ep));
    ep->url = mf__strndup(url, url_len);
    EVP_Digest(ep->url, url_len, md, &md_len, EVP_sha256(), NULL);
    for (int i = 0; i < 8; i++)
        snprintf(ep->id + 2 * i, 3, "%02x", md[i]);
    ep->events = mf__events(events, events_len);
    rc = mf__url_check(ep->url, err);
    if (rc == 0)
        rc = mf__secrets(ep, secret, secret_len, seps, err);
    return rc;
}

static int mf__find_url(const mf_wh_endpoint *eps, int n, const char *url, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(eps[i].url) == len && memcmp(eps[i].url, url, len) == 0)
            return i;
    }
    return -1;
}

/* webhook_endpoints: "url|secret|events" items separated by whitespace. */
static int mf__parse_items(const mf_config *cfg, mf_wh_endpoint *eps, int *n, mf_err *err)
{
    const char *p = cfg->webhook_endpoints;
    int rc = 0;

    while (rc == 0 && *p != '\0') {
        const char *item, *bar1, *bar2, *end;

        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        item = p;
        while (*p != '\0' && !isspace((unsigned char)*p))
            p++;
        end = p;
        bar1 = memchr(item, '|', (size_t)(end - item));
        bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1)) : NULL;
        if (bar1 == NULL)
            bar1 = bar2 = end;
        else if (bar2 == NULL)
            bar2 = end;
        if (*n == MF_WH_ENDPOINTS_MAX)
            return mf_err_set(err, MF_ECONFIG, "more than %d webhook endpoints",
                              MF_WH_ENDPOINTS_MAX);
        {
            int own_secret = bar2 > bar1 + 1;
            int own_events = bar2 + 1 < end;
            const char *sec = own_secret ? bar1 + 1 : cfg->webhook_secret;
            const char *ev = own_events ? bar2 + 1 : cfg->webhook_events;

            rc = mf__endpoint_init(&eps[*n], item, (size_t)(bar1 - item), sec,
                                   own_secret ? (size_t)(bar2 - bar1 - 1) : strlen(sec),
                                   own_secret ? "," : " ,", ev,
                                   own_events ? (size_t)(end - bar2 - 1) : strlen(ev), err);
        }
        (*n)++;
    }
    return rc;
}

/* webhook_urls: comma-separated, skipping those webhook_endpoints already gave. */
static int mf__parse_urls(const mf_config *cfg, mf_wh_endpoint *eps, int *n, int nitems,
                          mf_err *err)
{
    const char *p = cfg->webhook_urls;
    int rc = 0;

    while (rc == 0 && *p != '\0') {
        const char *item;
        size_t len;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        item = p;
        while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
            p++;
        len = (size_t)(p - item);
        if (len == 0 || mf__find_url(eps, nitems, item, len) >= 0 ||
            mf__find_url(eps, *n, item, len) >= 0)
            continue;
        if (*n == MF_WH_ENDPOINTS_MAX)
            return mf_err_set(err, MF_ECONFIG, "more than %d webhook endpoints",
                              MF_WH_ENDPOINTS_MAX);
        rc =
            mf__endpoint_init(&eps[*n], item, len, cfg->webhook_secret, strlen(cfg->webhook_secret),
                              " ,", cfg->webhook_events, strlen(cfg->webhook_events), err);
        (*n)++;
    }
    return rc;
}

int mf_wh_endpoints_parse(const mf_config *cfg, mf_wh_endpoint **out, mf_err *err)
{
    mf_wh_endpoint *eps = calloc(MF_WH_ENDPOINTS_MAX, sizeof(*eps));
    int n = 0;
    int rc;

    if (eps == NULL)
        abort();
    rc = mf__parse_items(cfg, eps, &n, err);
    if (rc == 0)
        rc = mf__parse_urls(cfg, eps, &n, n, err);
    if (rc < 0) {
        mf_wh_endpoints_free(eps, n);
        eps = NULL;
        n = 0;
    }
    *out = eps;
    return rc < 0 ? rc : n;
}

void mf_wh_endpoints_free(mf_wh_endpoint *eps, int n)
{
    if (eps == NULL)
        return;
    for (int i = 0; i < n; i++) {
        free(eps[i].url);
        free(eps[i].events);
        OPENSSL_cleanse(eps[i].key, sizeof(eps[i].key));
    }
    free(eps);
}

int mf_wh_endpoint_wants(const mf_wh_endpoint *ep, const char *status)
{
    char needle[40];
    int n;

    if (strcmp(ep->events, "*") == 0)
        return 1;
    n = snprintf(needle, sizeof(needle), ",%s,", status);
    return n > 0 && (size_t)n < sizeof(needle) && strstr(ep->events, needle) != NULL;
}

int mf_wh_url_host(const char *url, char *host, size_t size, long *port)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL;
    unsigned char buf[sizeof(struct in6_addr)];
    size_t len;

    if (u == NULL)
        abort();
    curl_url_set(u, CURLUPART_URL, url, 0);
    curl_url_get(u, CURLUPART_HOST, &h, 0);
    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT);
    snprintf(host, size, "%s", h ? h : "");
    *port = p ? strtol(p, NULL, 10) : 80;
    len = strlen(host);
    /* an IPv6 literal comes bracketed: getaddrinfo() wants it bare */
    if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
        memmove(host, host + 1, len - 2);
        host[len - 2] = '\0';
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* ---- retries ---------------------------------------------------------------------------- */

int mf_wh_schedule_parse(const char *spec, int64_t *secs, int max, mf_err *err)
{
    const char *p = spec;
    int n = 0;

    while (*p != '\0') {
        char *end = NULL;
        long long v;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        v = strtoll(p, &end, 10);
        if (end == p || v < 0 || v > 7 * MF__DAY_S ||
            (*end != '\0' && *end != ',' && !isspace((unsigned char)*end)))
            return mf_err_set(err, MF_ECONFIG,
                              "webhook_retry_schedule '%s': expected seconds (0..604800) "
                              "separated by commas",
                              spec);
        if (n == max)
            return mf_err_set(err, MF_ECONFIG, "webhook_retry_schedule: more than %d attempts",
                              max);
        secs[n++] = v;
        p = end;
    }
    if (n == 0)
        return mf_err_set(err, MF_ECONFIG, "webhook_retry_schedule is empty");
    return n;
}

mf_wh_outcome mf_wh_classify(int curl_code, long http, int refused)
{
    if (refused)
        return MF_WH_FAIL;
    /* a 2xx whose body we stopped reading at our cap was still accepted */
    if (http >= 200 && http < 300)
        return MF_WH_OK;
    if (http == 410)
        return MF_WH_DISABLE;
    if (http >= 500 || http == 429 || http == 408)
        return MF_WH_RETRY;
    if (http >= 300)
        return MF_WH_FAIL; /* 3xx (no redirects followed), 4xx */
    if (curl_code == CURLE_UNSUPPORTED_PROTOCOL || curl_code == CURLE_URL_MALFORMAT)
        return MF_WH_FAIL;
    /* no response: timeouts, refused or reset connections, DNS, TLS */
    return MF_WH_RETRY;
}

int64_t mf_wh_backoff_ms(const int64_t *schedule, int attempt, int64_t retry_after_s, double rnd)
{
    int64_t ms = schedule[attempt] * 1000;

    /* jitter spreads the retries of many deliveries that failed together */
    ms += (int64_t)((double)ms * 0.2 * rnd);
    if (retry_after_s > MF__DAY_S)
        retry_after_s = MF__DAY_S;
    if (retry_after_s * 1000 > ms)
        ms = retry_after_s * 1000;
    return ms;
}

/* ---- addresses -------------------------------------------------------------------------- */

static int mf__v4_refused(uint32_t a, const char **why)
{
    static const struct {
        uint32_t net, mask;
        const char *why;
    } ranges[] = {
        {0x00000000, 0xff000000, "an unspecified (0.0.0.0/8) address"},
        {0x0a000000, 0xff000000, "a private (10.0.0.0/8) address"},
        {0x64400000, 0xffc00000, "a shared (100.64.0.0/10) address"},
        {0x7f000000, 0xff000000, "a loopback (127.0.0.0/8) address"},
        {0xa9fe0000, 0xffff0000, "a link-local (169.254.0.0/16) address"},
        {0xac100000, 0xfff00000, "a private (172.16.0.0/12) address"},
        {0xc0a80000, 0xffff0000, "a private (192.168.0.0/16) address"},
        {0xe0000000, 0xf0000000, "a multicast (224.0.0.0/4) address"},
        {0xf0000000, 0xf0000000, "a reserved (240.0.0.0/4) address"},
    };

    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if ((a & ranges[i].mask) == ranges[i].net) {
            *why = ranges[i].why;
            return 1;
        }
    }
    return 0;
}

static int mf__v6_refused(const unsigned char *b, const char **why)
{
    static const unsigned char zero[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (memcmp(b, mapped, 12) == 0)
        return mf__v4_refused(
            (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15], why);
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
        *why = b[15] ? "a loopback (::1) address" : "an unspecified (::) address";
        return 1;
    }
    if ((b[0] & 0xfe) == 0xfc) {
        *why = "a private (fc00::/7) address";
        return 1;
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        *why = "a link-local (fe80::/10) address";
        return 1;
    }
    if (b[0] == 0xff) {
        *why = "a multicast (ff00::/8) address";
        return 1;
    }
    return 0;
}

int mf_wh_addr_allowed(const struct sockaddr *sa, int allow_private, const char **why)
{
    int refused = 0;

    *why = "";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        refused = mf__v4_refused(ntohl(in->sin_addr.s_addr), why);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        refused = mf__v6_refused(in6->sin6_addr.s6_addr, why);
    } else {
        *why = "not an IP address";
        return 0;
    }
    return !refused || allow_private;
}

/* ---- the Redis URL --------------------------------------------------------------------- */

/* redis://[:password@]host[:port][/db] or unix:///path[?db=N][&password=P]; the full
 * parser (percent-decoding, users) is queues/redis.c's: this one covers what mfctl and the
 * tests write. */

int mf_wh_redis_url_parse(const char *url, mf_wh_redis_url *u, mf_err *err)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *q = strchr(url + 7, '?');
        size_t len = q ? (size_t)(q - url - 7) : strlen(url + 7);
        if (len == 0 || len >= sizeof(u->sock))
            return mf_err_set(err, MF_ECONFIG, "redis_url '%s': bad socket path", url);
        memcpy(u->sock, url + 7, len);
        for (const char *p = q; p != NULL; p = strchr(p + 1, '&')) {
            if (strncmp(p + 1, "db=", 3) == 0)
                u->db = strtol(p + 4, NULL, 10);
            else if (strncmp(p + 1, "password=", 9) == 0)
                snprintf(u->password, sizeof(u->password), "%.*s", (int)strcspn(p + 10, "&"),
                         p + 10);
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        const char *s = url + 8, *at = strchr(s, '@'), *hp, *colon, *slash;
        if (at != NULL) {
            const char *pw = memchr(s, ':', (size_t)(at - s));
            if (pw != NULL)
                snprintf(u->password, sizeof(u->password), "%.*s", (int)(at - pw - 1), pw + 1);
        }
        hp = at ? at + 1 : s;
        slash = strchr(hp, '/');
        colon = strrchr(hp, ':');
        if (colon != NULL && slash != NULL && colon > slash)
            colon = NULL;
        if (colon != NULL && strchr(hp, ']') > colon)
            colon = NULL;
        snprintf(u->host, sizeof(u->host), "%.*s",
                 (int)((colon   ? colon
                        : slash ? slash
                                : hp + strlen(hp)) -
                       hp),
                 hp);
        if (colon != NULL)
            u->port = (int)strtol(colon + 1, NULL, 10);
        if (slash != NULL)
            u->db = strtol(slash + 1, NULL, 10);
        if (u->host[0] == '[') {
            memmove(u->host, u->host + 1, strlen(u->host));
            u->host[strcspn(u->host, "]")] = '\0';
        }
        if (u->host[0] != '\0' && u->port > 0 && u->port < 65536)
            return 0;
    }
    return mf_err_set(err, MF_ECONFIG,
                      "redis_url '%s' is invalid (redis://[:password@]host[:port][/db] or "
                      "unix:///path.sock)",
                      url);
}
