/* mf-gateway: the fleet over HTTP (libmicrohttpd): health, readiness, Prometheus metrics,
 * the JSON API, server-sent events, uploads with a profile, outputs, a live status page.
 * Several gateways may serve one fleet: all state is in Redis and on the shared folders.
 *
 *   mf-gateway [--config FILE] [--name=value ...]   run until SIGTERM/SIGINT
 *   mf-gateway --check-config                       print the effective config, exit */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw.h"
#include "mf/log.h"

enum MHD_Result mf_gw_access(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls);
void mf_gw_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                     enum MHD_RequestTerminationCode toe);
size_t mf_gw_unescape(void *cls, struct MHD_Connection *c, char *s);

static void mf__usage(FILE *out)
{
    fprintf(out, "usage: mf-gateway [--config FILE] [--check-config] [--<setting>=VALUE ...]\n"
                 "Settings also come from MF_<SETTING> environment variables; see "
                 "mfctl check-config.\n");
}

/* http_listen "host:port", "[v6]:port" or ":port" (all interfaces) -> one address. */
static int mf__listen_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                           mf_err *err)
{
    char host[256];
    const char *colon = strrchr(spec, ':'), *h = spec;
    size_t hlen;
    struct addrinfo hints, *res = NULL;
    int gai, rc = 0;

    if (colon == NULL || colon[1] == '\0')
        return mf_err_set(err, MF_ECONFIG, "http_listen '%s' is not host:port", spec);
    hlen = (size_t)(colon - spec);
    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        h = spec + 1;
        hlen -= 2;
    }
    if (hlen >= sizeof(host))
        return mf_err_set(err, MF_ECONFIG, "http_listen '%s': host too long", spec);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    gai = getaddrinfo(hlen > 0 ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "http_listen '%s': %s", spec, gai_strerror(gai));
        goto out;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
out:
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

static int mf__loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static int mf__validate(const mf_config *cfg, struct sockaddr_storage *ss, socklen_t *sslen,
                        mf_err *err)
{
    int rc;

    if (cfg->redis_url[0] == '\0')
        return mf_err_set(err, MF_ECONFIG,
                          "redis_url is empty: set MF_REDIS_URL (mfctl up sets it for the "
                          "fleet it starts)");
    if (cfg->http_listen[0] == '\0')
        return mf_err_set(err, MF_ECONFIG, "http_listen is empty: the gateway is turned off");
    rc = mf__listen_addr(cfg->http_listen, ss, sslen, err);
    if (rc < 0)
        return rc;
    if (!mf__loopback(ss) && cfg->http_token[0] == '\0')
        return mf_err_set(err, MF_ECONFIG,
                          "http_listen %s is beyond loopback and http_token is empty: set a "
                          "token (MF_HTTP_TOKEN) or listen on 127.0.0.1",
                          cfg->http_listen);
    if (mf_log_init("gateway", cfg->log_level) < 0)
        return mf_err_set(err, MF_ECONFIG, "log_level '%s' is not one of debug info warn error",
                          cfg->log_level);
    return 0;
}

static int mf__open_dirs(mf_gw *g, mf_err *err)
{
    g->outbox_fd = open(g->cfg->outbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g->outbox_fd < 0)
        return mf_err_set(err, MF_ECONFIG, "open(%s) failed: %s (outbox)", g->cfg->outbox,
                          strerror(errno));
    g->inbox_fd = open(g->cfg->inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g->inbox_fd < 0)
        return mf_err_set(err, MF_ECONFIG, "open(%s) failed: %s (inbox)", g->cfg->inbox,
                          strerror(errno));
    return 0;
}

static void mf__mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512], q[600];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    mf_log(MF_LOG_DEBUG, "msg=%s", mf_log_quote(q, sizeof(q), msg));
}

static int mf__run(mf_gw *g, const struct sockaddr_storage *ss, mf_err *err)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    sigset_t set;
    int sig = 0;

    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    g->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, mf_gw_access, g, MHD_OPTION_EXTERNAL_LOGGER, mf__mhd_log, g,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss, MHD_OPTION_NOTIFY_COMPLETED,
        mf_gw_completed, g, MHD_OPTION_UNESCAPE_CALLBACK, mf_gw_unescape, g,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MF_GW_CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)MF_GW_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MF_GW_CONN_TIMEOUT_S,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (g->daemon == NULL)
        return mf_err_set(err, MF_ECONFIG, "MHD_start_daemon() failed: cannot listen on %s",
                          g->cfg->http_listen);
    mf_log(MF_LOG_INFO, "msg=\"listening\" listen=%s token=%s mhd=%s", g->cfg->http_listen,
           g->cfg->http_token[0] != '\0' ? "yes" : "no", MHD_get_version());
    /* the signals were blocked before any thread started: only this thread takes them */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (sig != SIGTERM && sig != SIGINT) {
        if (sigwait(&set, &sig) != 0)
            break;
    }
    mf_log(MF_LOG_INFO, "msg=\"stopping\" signal=%d", sig);
    atomic_store(&g->stopping, 1);
    MHD_stop_daemon(g->daemon);
    g->daemon = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    mf_config cfg;
    mf_gw g;
    mf_err err = {0};
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    sigset_t set;
    int check = 0;
    int rc;

    memset(&g, 0, sizeof(g));
    g.outbox_fd = g.inbox_fd = -1;
    pthread_mutex_init(&g.pool_lock, NULL);
    rc = mf_config_load(&cfg, NULL, &argc, argv, &err);
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (strcmp(argv[i], "--check-config") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            mf__usage(stdout);
            goto out;
        } else {
            rc = mf_err_set(&err, MF_ECONFIG, "unknown argument '%s'", argv[i]);
        }
    }
    g.cfg = &cfg;
    if (rc == 0)
        rc = mf__validate(&cfg, &ss, &sslen, &err);
    if (rc == 0 && !check)
        rc = mf__open_dirs(&g, &err);
    if (rc < 0) {
        fprintf(stderr, "mf-gateway: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    if (check) {
        mf_config_dump(&cfg, stdout, 0);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rc = mf__run(&g, &ss, &err);
    if (rc < 0) {
        mf_log(MF_LOG_ERROR, "msg=\"gateway failed\" error=\"%s\"", err.msg);
        rc = 1;
    }
out:
    mf_gw_pool_close(&g);
    if (g.outbox_fd >= 0)
        close(g.outbox_fd);
    if (g.inbox_fd >= 0)
        close(g.inbox_fd);
    mf_config_close(&cfg);
    return rc;
}
