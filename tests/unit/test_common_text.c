/* The shared helpers every binary uses for text: UTF-8 clean-up (U+FFFD for what is not
 * UTF-8), the log line (ts= first, error= quoted by the helper) and the back-off steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/utf8.h"

static void test_utf8_clean(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"plain ascii", 11, "plain ascii"},
        {"caf\xc3\xa9", 5, "caf\xc3\xa9"},                           /* valid: kept */
        {"caf\xe9.jpg", 8, "caf\xef\xbf\xbd.jpg"},                   /* Latin-1 byte */
        {"\xc3\x28", 2, "\xef\xbf\xbd("},                            /* bad continuation */
        {"\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"}, /* emoji: kept */
        {"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"}, /* cut short */
        {"", 0, ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        char *s = mf_utf8_clean(cases[i].in, cases[i].len, &n);

        assert_string_equal(s, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        assert_true(mf_utf8_valid(s, n));
        assert_int_equal(mf_utf8_valid(cases[i].in, cases[i].len),
                         strcmp(cases[i].in, cases[i].out) == 0);
        free(s);
    }
}

/* Runs fn with stderr going to a pipe and returns what it wrote (heap). */
static char *capture_stderr(void (*fn)(void))
{
    char *buf = mf_xmalloc(8192);
    int fds[2], saved;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = read(fds[0], buf, 8191);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void log_two_lines(void)
{
    mf_log_init("test", "info");
    mf_log(MF_LOG_INFO, "msg=hello n=%d", 1);
    /* a folder name with a quote and a newline cannot break the line */
    mf_log_error(MF_LOG_WARN, "open of \"a\nb\" failed", "msg=\"cannot read\" path=%s", "x");
    mf_log_error(MF_LOG_DEBUG, "not shown", "msg=hidden");
}

static void test_log_line(void **state)
{
    char *out = capture_stderr(log_two_lines);
    regex_t re;

    (void)state;
    assert_int_equal(
        regcomp(&re,
                "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                "level=info role=test pid=[0-9]+ msg=hello n=1\n"
                "ts=[^ ]+ level=warn role=test pid=[0-9]+ msg=\"cannot read\" path=x "
                "error=\"open of \\\\\"a\\\\nb\\\\\" failed\"\n$",
                REG_EXTENDED),
        0);
    if (regexec(&re, out, 0, NULL, 0) != 0)
        fail_msg("unexpected log output:\n%s", out);
    regfree(&re);
    free(out);
}

static void test_backoff(void **state)
{
    int64_t d = 0;
    const int64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        d = mf_backoff_next(d, MF_REDIS_RETRY_MIN_MS, MF_REDIS_RETRY_MAX_MS);
        assert_int_equal(d, want[i]);
    }
    assert_int_equal(mf_backoff_next(INT64_MAX / 2 + 1, 1, INT64_MAX), INT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
