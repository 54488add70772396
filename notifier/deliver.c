/* mf-notifier's HTTP side: one attempt is one curl easy handle on the multi handle, driven
 * by curl_multi_socket_action from uv_poll and uv_timer callbacks. Before curl connects,
 * the endpoint's host is resolved here (uv_getaddrinfo), every address checked
 * (mf_wh_addr_allowed) and the chosen one pinned with CURLOPT_RESOLVE; the socket callback
 * checks again what curl actually connects to. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"
#include "mf/alloc.h"
#include "mf/clock.h"

/* ---- curl ------------------------------------------------------------------------------- */

static size_t mf__on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    mf__delivery *d = userdata;
    size_t len = size * nmemb;

    if (d->resp_len < MF__RESP_KEEP) {
        size_t take = MF__RESP_KEEP - d->resp_len < len ? MF__RESP_KEEP - d->resp_len : len;
        memcpy(d->resp + d->resp_len, ptr, take);
        d->resp_len += take;
        d->resp[d->resp_len] = '\0';
    }
    d->resp_total += len;
    /* a receiver that streams a large body would hold a connection: stop reading */
    return d->resp_total > MF__RESP_MAX ? 0 : len;
}

/* The last check before connect(): curl connects only where we allow, whatever it resolved
 * (CURLOPT_RESOLVE pins our own answer; this also covers IP literals). */
static curl_socket_t mf__open_socket(void *clientp, curlsocktype purpose,
                                     struct curl_sockaddr *address)
{
    mf__delivery *d = clientp;
    const char *why;

    if (!mf_wh_addr_allowed(&address->addr, (int)d->n->cfg->webhook_allow_private, &why)) {
        d->refused = 1;
        snprintf(d->why, sizeof(d->why),
                 "refused: the endpoint resolves to %s (webhook_allow_private=0)", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static void mf__finish(mf__delivery *d, CURLcode code)
{
    mf__ep *ep = d->ep;
    long http = 0, version = 0;
    curl_off_t us = 0, retry_after = 0;
    mf_wh_outcome outcome;

    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &http);
    curl_easy_getinfo(d->easy, CURLINFO_TOTAL_TIME_T, &us);
    curl_easy_getinfo(d->easy, CURLINFO_RETRY_AFTER, &retry_after);
    curl_easy_getinfo(d->easy, CURLINFO_HTTP_VERSION, &version);
    if (version == CURL_HTTP_VERSION_2_0)
        ep->h2 = 1;
    curl_multi_remove_handle(d->n->multi, d->easy);
    curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    curl_slist_free_all(d->resolve);
    d->easy = NULL;
    d->headers = d->resolve = NULL;
    d->n->inflight--;
    ep->inflight--;
    outcome = mf_wh_classify((int)code, http, d->refused);
    if (outcome == MF_WH_OK) {
        d->error[0] = '\0';
    } else if (d->refused) {
        snprintf(d->error, sizeof(d->error), "%s", d->why);
    } else if (!d->refused && http > 0) {
        snprintf(d->error, sizeof(d->error), "HTTP %ld%s%s", http, d->resp_len ? ": " : "",
                 d->resp);
        if (http >= 300 && http < 400)
            snprintf(d->error, sizeof(d->error), "HTTP %ld: redirects are not followed", http);
        if (http == 410)
            snprintf(d->error, sizeof(d->error), "HTTP 410 Gone: the endpoint is disabled");
    } else if (!d->refused && d->error[0] == '\0') {
        snprintf(d->error, sizeof(d->error), "%s", curl_easy_strerror(code));
    }
    mf__settle(d, http, (int64_t)(us / 1000), (int64_t)retry_after, outcome);
    mf__ep_pump(ep);
}

static void mf__check_info(mf__notifier *n)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(n->multi, &left)) != NULL) {
        mf__delivery *d = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        mf__finish(d, msg->data.result);
    }
    mf__pump(n);
    mf__maybe_finish_drain(n);
}

static void mf__on_poll(uv_poll_t *h, int status, int events)
{
    mf__sock *s = h->data;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(s->n->multi, s->fd, flags, &running);
    mf__check_info(s->n);
}

static void mf__on_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

int mf__curl_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    mf__notifier *n = userp;
    mf__sock *s = socketp;
    int events = 0;

    if (action == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, mf__on_sock_closed);
            curl_multi_assign(n->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = mf_xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->n = n;
        uv_poll_init_socket(n->loop, &s->poll, fd);
        s->poll.data = s;
        curl_multi_assign(n->multi, fd, s);
    }
    if (action & CURL_POLL_IN)
        events |= UV_READABLE;
    if (action & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, mf__on_poll);
    return 0;
}

static void mf__on_curl_timer(uv_timer_t *t)
{
    mf__notifier *n = t->data;
    int running;

    curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    mf__check_info(n);
}

int mf__curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    mf__notifier *n = userp;

    if (timeout_ms < 0)
        uv_timer_stop(&n->curl_timer);
    else
        uv_timer_start(&n->curl_timer, mf__on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* Starts the HTTP request of one attempt. */
static void mf__launch(mf__delivery *d)
{
    mf__notifier *n = d->n;
    mf__ep *ep = d->ep;
    char line[600], sig[2 * MF_WH_SIG_LEN + 2];
    int64_t ts = mf_clock_now_ms() / 1000;
    CURL *e = curl_easy_init();

    if (e == NULL)
        abort();
    d->easy = e;
    d->refused = 0;
    d->error[0] = '\0';
    d->resp_len = d->resp_total = 0;
    d->resp[0] = '\0';
    mf_wh_signature_header(ep->cfg, d->msg_id, ts, d->body, d->body_len, sig, sizeof(sig));
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    d->headers = curl_slist_append(d->headers, "Expect:");
    snprintf(line, sizeof(line), "webhook-id: %s", d->msg_id);
    d->headers = curl_slist_append(d->headers, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
    d->headers = curl_slist_append(d->headers, line);
    snprintf(line, sizeof(line), "webhook-signature: %s", sig);
    d->headers = curl_slist_append(d->headers, line);
    if (!ep->literal) {
        snprintf(line, sizeof(line), "%s:%ld:%s%s%s", ep->host, ep->port,
                 strchr(ep->addr, ':') ? "[" : "", ep->addr, strchr(ep->addr, ':') ? "]" : "");
        d->resolve = curl_slist_append(NULL, line);
        curl_easy_setopt(e, CURLOPT_RESOLVE, d->resolve);
    }
    curl_easy_setopt(e, CURLOPT_URL, d->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mediafleet-notifier/" MF_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* no proxy from the environment */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L); /* wait for an HTTP/2 connection to multiplex */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)n->cfg->webhook_connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->cfg->webhook_timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mf__on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->error);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, mf__open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, d);
    n->inflight++;
    ep->inflight++;
    curl_multi_add_handle(n->multi, e);
}

/* A delivery that cannot be attempted: counts as an attempt that failed for good. */
static void mf__refuse(mf__delivery *d, const char *why)
{
    snprintf(d->error, sizeof(d->error), "%s", why);
    mf__settle(d, 0, 0, 0, MF_WH_FAIL);
}

/* Requests in flight per endpoint at most: over HTTP/1.1 one per connection, so that a
 * request never waits in curl's queue for a connection while its timeout runs; over HTTP/2
 * the connections carry many streams each. */
static int mf__ep_cap(const mf__ep *ep)
{
    int64_t cap = ep->n->cfg->webhook_max_per_host * (ep->h2 ? 100 : 1);

    return cap > MF__INFLIGHT_MAX ? MF__INFLIGHT_MAX : (int)cap;
}

/* Launches now, or queues behind the endpoint's cap. */
static void mf__admit(mf__delivery *d)
{
    mf__ep *ep = d->ep;

    if (ep->inflight < mf__ep_cap(ep)) {
        mf__launch(d);
        return;
    }
    if (ep->q_tail)
        ep->q_tail->next = d;
    else
        ep->q_head = d;
    ep->q_tail = d;
}

/* ---- resolving: our own getaddrinfo, checked, then pinned with CURLOPT_RESOLVE ----------- */

static void mf__on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    mf__ep *ep = req->data;
    mf__notifier *n = ep->n;
    const char *why = "";
    mf__delivery *list = ep->wait_head;

    ep->resolving = 0;
    ep->addr[0] = '\0';
    ep->refused[0] = '\0';
    for (struct addrinfo *a = res; status == 0 && a != NULL && ep->addr[0] == '\0';
         a = a->ai_next) {
        const char *w;
        if (!mf_wh_addr_allowed(a->ai_addr, (int)n->cfg->webhook_allow_private, &w)) {
            why = w;
            continue;
        }
        if (a->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr, ep->addr,
                      sizeof(ep->addr));
        else
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr, ep->addr,
                      sizeof(ep->addr));
    }
    uv_freeaddrinfo(res);
    if (ep->addr[0] != '\0')
        ep->resolved_mono = mf_clock_mono_ms();
    else if (status == 0)
        snprintf(ep->refused, sizeof(ep->refused),
                 "refused: %s resolves to %s (webhook_allow_private=0)", ep->host, why);
    ep->wait_head = ep->wait_tail = NULL;
    while (list != NULL) {
        mf__delivery *d = list;
        list = d->next;
        d->next = NULL;
        if (n->draining) {
            mf__forget(d);
        } else if (status != 0) {
            snprintf(d->error, sizeof(d->error), "getaddrinfo(%s) failed: %s", ep->host,
                     uv_strerror(status));
            mf__settle(d, 0, 0, 0, MF_WH_RETRY);
        } else if (ep->refused[0] != '\0') {
            mf__refuse(d, ep->refused);
        } else {
            mf__admit(d);
        }
    }
    mf__maybe_finish_drain(n);
}

/* Attempts a loaded delivery now, or queues it for a connection slot or a resolution. */
void mf__start(mf__delivery *d)
{
    mf__notifier *n = d->n;
    mf__ep *ep = d->ep;
    char why[300];

    if (n->draining) {
        mf__forget(d); /* Redis has it; the next run attempts it */
        return;
    }
    if (ep == NULL) {
        mf__refuse(d, "the endpoint is no longer configured");
        return;
    }
    if (ep->disabled) {
        snprintf(why, sizeof(why), "the endpoint is disabled: %s", ep->reason);
        mf__refuse(d, why);
        return;
    }
    if (n->inflight >= MF__INFLIGHT_MAX) {
        if (n->ready_tail)
            n->ready_tail->next = d;
        else
            n->ready_head = d;
        n->ready_tail = d;
        return;
    }
    if (!ep->resolving && mf_clock_mono_ms() - ep->resolved_mono < MF__RESOLVE_TTL_MS &&
        ep->resolved_mono != 0) {
        mf__admit(d);
        return;
    }
    if (ep->wait_tail)
        ep->wait_tail->next = d;
    else
        ep->wait_head = d;
    ep->wait_tail = d;
    if (!ep->resolving) {
        struct addrinfo hints;
        char port[16];
        int rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof(port), "%ld", ep->port);
        ep->resolving = 1;
        ep->gai.data = ep;
        rc = uv_getaddrinfo(n->loop, &ep->gai, mf__on_resolved, ep->host, port, &hints);
        if (rc < 0)
            mf__on_resolved(&ep->gai, rc, NULL);
    }
}

/* Starts what waits for a connection slot. */
void mf__pump(mf__notifier *n)
{
    while (n->ready_head != NULL && n->inflight < MF__INFLIGHT_MAX) {
        mf__delivery *d = n->ready_head;
        n->ready_head = d->next;
        if (n->ready_head == NULL)
            n->ready_tail = NULL;
        d->next = NULL;
        mf__start(d);
    }
}

/* Starts what waits for one of the endpoint's slots (checked again: disabled meanwhile?). */
void mf__ep_pump(mf__ep *ep)
{
    while (ep->q_head != NULL && ep->inflight < mf__ep_cap(ep)) {
        mf__delivery *d = ep->q_head;
        ep->q_head = d->next;
        if (ep->q_head == NULL)
            ep->q_tail = NULL;
        d->next = NULL;
        mf__start(d);
    }
}
