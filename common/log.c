/* logfmt to stderr, one write(2) per line so lines from threads and processes never mix. */
#include "mf/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mf/clock.h"

int mf__log_level = MF_LOG_INFO;
static char mf__log_role[64] = "mediafleet";

static const char *const mf__log_names[] = {"debug", "info", "warn", "error"};

int mf_log_init(const char *role, const char *level_name)
{
    int rc = -1;

    if (role != NULL)
        snprintf(mf__log_role, sizeof(mf__log_role), "%s", role);
    if (level_name == NULL || level_name[0] == '\0')
        return 0;
    for (int i = 0; i < 4; i++) {
        if (strcmp(level_name, mf__log_names[i]) == 0) {
            mf__log_level = i;
            rc = 0;
        }
    }
    return rc;
}

void mf_log_set_level(mf_log_level level)
{
    mf__log_level = (int)level;
}

/* Formats one line (prefix, fmt, then error="..." when error is not NULL) and writes it. */
static void mf__log_vwrite(mf_log_level level, const char *error, const char *fmt, va_list ap)
{
    char line[2048];
    char ts[MF_ISO_TIME_LEN];
    int n;
    int m;

    n = snprintf(line, sizeof(line), "ts=%s level=%s role=%s pid=%ld ",
                 mf_clock_iso(mf_clock_now_ms(), ts, sizeof(ts)), mf__log_names[level & 3],
                 mf__log_role, (long)getpid());
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    n = (m < 0) ? n : n + m;
    if (error != NULL && n < (int)sizeof(line) - 12) {
        memcpy(line + n, " error=", 7);
        n += 7;
        mf_log_quote(line + n, sizeof(line) - (size_t)n - 1, error);
        n += (int)strlen(line + n);
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
}

void mf__log_write(mf_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mf__log_vwrite(level, NULL, fmt, ap);
    va_end(ap);
}

void mf__log_write_error(mf_log_level level, const char *error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mf__log_vwrite(level, error != NULL ? error : "", fmt, ap);
    va_end(ap);
}

const char *mf_log_quote(char *buf, size_t size, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (size < 3) {
        if (size > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
        char esc[5];
        size_t len = 0;

        if (*p == '"' || *p == '\\') {
            esc[len++] = '\\';
            esc[len++] = (char)*p;
        } else if (*p == '\n') {
            esc[len++] = '\\';
            esc[len++] = 'n';
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[len++] = '\\';
            esc[len++] = 'x';
            esc[len++] = hex[*p >> 4];
            esc[len++] = hex[*p & 15];
        } else {
            esc[len++] = (char)*p;
        }
        if (o + len + 2 > size)
            break;
        memcpy(buf + o, esc, len);
        o += len;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
