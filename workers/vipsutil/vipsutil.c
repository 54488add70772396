/* libvips for untrusted input (mf/vipsutil.h). */
#include "mf/vipsutil.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "mf/log.h"

const char *mf_vips_error(char *buf, size_t size)
{
    const char *p = vips_error_buffer(), *nl;
    size_t len, o = 0;
    int seen;

    buf[0] = '\0';
    while (*p != '\0') {
        nl = strchr(p, '\n');
        len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        seen = o > 0 && memmem(buf, o, p, len) != NULL;
        if (len > 0 && !seen && o + len + 3 < size)
            o += (size_t)snprintf(buf + o, size - o, "%s%.*s", o > 0 ? "; " : "", (int)len, p);
        p += len + (nl != NULL ? 1 : 0);
    }
    vips_error_clear();
    if (o == 0)
        snprintf(buf, size, "unknown libvips error");
    return buf;
}

/* GLib warnings from libvips ("error in tile 0 x 32") are decoder chatter: the error that
 * matters reaches the record. Keep them out of stderr unless debugging. */
static void mf__vips_glog(const gchar *domain, GLogLevelFlags level, const gchar *message,
                          gpointer user)
{
    char q[512];

    (void)user;
    mf_log(level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR) ? MF_LOG_WARN : MF_LOG_DEBUG,
           "domain=%s msg=%s", domain != NULL ? domain : "-", mf_log_quote(q, sizeof(q), message));
}

int mf_vips_init(const char *prog, mf_err *err)
{
    char why[MF_ERR_MSG_MAX];

    if (VIPS_INIT(prog) != 0)
        return mf_err_set(err, MF_ECONFIG, "vips_init() failed: %s",
                          mf_vips_error(why, sizeof(why)));
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL,
                      mf__vips_glog, NULL);
    vips_block_untrusted_set(TRUE);
    vips_cache_set_max(0);
    /* One thread: the fleet scales by processes. Measured on 2 cores, 16 4000x3000 JPEGs:
     * 2 workers x 1 thread took ~35% less time than 1 worker x 2 threads, which was no faster
     * than 1 x 1 (WebP encoding, most of the work, is single-threaded). VIPS_CONCURRENCY in
     * the environment still overrides. */
    if (getenv("VIPS_CONCURRENCY") == NULL)
        vips_concurrency_set(1);
    return 0;
}
