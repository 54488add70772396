/* A fast webhook receiver for bench/notify.sh: one libuv thread, HTTP/1.1 keep-alive,
 * answers every POST with 204 at once. Python's http.server manages a few hundred requests
 * a second on this VM and would measure itself, not mf-notifier.
 *
 * For each request it takes the event time from the webhook-id (mf-notifier's ids are
 * "msg_<stream entry id>", whose first part is the XADD time in ms) and keeps
 * now - event time. SIGUSR1 writes "count p50 p99 max" (ms) to the stats file and starts
 * over; SIGTERM exits.
 * Usage: mf-bench-webhook-sink PORT_FILE STATS_FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <uv.h>

#define SINK_BUF 65536

typedef struct conn {
    uv_tcp_t tcp;
    char buf[SINK_BUF];
    size_t len;
} conn;

static const char *stats_path;
static double *lat;
static size_t nlat, caplat;
static uv_tcp_t server;
static uv_signal_t sig_usr1, sig_term;
static const char reply[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";

static double now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    conn *c = h->data;

    b->base = c->buf + c->len;
    b->len = SINK_BUF - c->len;
}

static void on_written(uv_write_t *w, int status)
{
    free(w);
}

static void record(const char *head, size_t head_len)
{
    const char *p = memmem(head, head_len, "webhook-id: msg_", 16);

    if (p == NULL)
        return;
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof(*lat));
        if (lat == NULL)
            abort();
    }
    lat[nlat++] = now_ms() - strtod(p + 16, NULL);
}

/* Answers every complete request in the buffer; keeps a partial one. */
static void serve(conn *c)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        size_t head_len, body = 0, total;
        char *cl;

        if (end == NULL)
            return;
        head_len = (size_t)(end - c->buf) + 4;
        for (cl = c->buf; cl < end; cl++) {
            if (strncasecmp(cl, "\ncontent-length:", 16) == 0) {
                body = strtoul(cl + 16, NULL, 10);
                break;
            }
        }
        total = head_len + body;
        if (total > SINK_BUF) {
            uv_close((uv_handle_t *)&c->tcp, on_close);
            return;
        }
        if (c->len < total)
            return;
        record(c->buf, head_len);
        {
            uv_write_t *w = malloc(sizeof(*w));
            uv_buf_t b = uv_buf_init((char *)reply, sizeof(reply) - 1);
            if (w == NULL)
                abort();
            uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
        }
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    conn *c = s->data;

    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)n;
    serve(c);
}

static void on_conn(uv_stream_t *srv, int status)
{
    conn *c;

    if (status < 0)
        return;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void on_usr1(uv_signal_t *h, int signum)
{
    FILE *f = fopen(stats_path, "w");

    if (f == NULL)
        return;
    qsort(lat, nlat, sizeof(*lat), cmp);
    if (nlat == 0)
        fprintf(f, "0 0 0 0\n");
    else
        fprintf(f, "%zu %.2f %.2f %.2f\n", nlat, lat[nlat / 2], lat[(nlat * 99) / 100],
                lat[nlat - 1]);
    fclose(f);
    nlat = 0;
}

static void on_term(uv_signal_t *h, int signum)
{
    exit(0);
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    FILE *f;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT_FILE STATS_FILE\n", argv[0]);
        return 2;
    }
    stats_path = argv[2];
    uv_tcp_init(uv_default_loop(), &server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 1024, on_conn) != 0)
        return 1;
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
    f = fopen(argv[1], "w");
    if (f == NULL)
        return 1;
    fprintf(f, "%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fclose(f);
    uv_signal_init(uv_default_loop(), &sig_usr1);
    uv_signal_start(&sig_usr1, on_usr1, SIGUSR1);
    uv_signal_init(uv_default_loop(), &sig_term);
    uv_signal_start(&sig_term, on_term, SIGTERM);
    return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
