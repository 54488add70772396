/* The executor's line protocol (see mf/executor.h): jobs down, replies up, one JSON object per
 * line. JSON keeps the lines readable in a debugger and lets meta/outputs pass through
 * untouched; paths are bytes, not text, so they get an escape hatch ({"hex": ...}) instead
 * of being mangled or refused. */
#include <stdlib.h>
#include <string.h>
#include "mf/alloc.h"
#include "mf/executor.h"
#include "mf/utf8.h"
#include "runtime.h"

json_t *mf__json_text(const char *s)
{
    json_t *v;
    char *buf;
    size_t n;

    if (s == NULL)
        return json_null();
    v = json_string(s);
    if (v != NULL)
        return v;
    buf = mf_utf8_clean(s, strlen(s), &n);
    v = json_stringn(buf, n);
    free(buf);
    return v != NULL ? v : json_string("\xef\xbf\xbd");
}

json_t *mf__json_bytes(const char *s)
{
    static const char digits[] = "0123456789abcdef";
    size_t n, i;
    char *hex;
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_string(s);
    if (v != NULL)
        return v;
    n = strlen(s);
    hex = mf_xmalloc(2 * n + 1);
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[(unsigned char)s[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
    }
    hex[2 * n] = '\0';
    v = json_pack("{s:s}", "hex", hex);
    free(hex);
    return v;
}

static int mf__hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mf__json_get_bytes(const json_t *v, char **out)
{
    const char *hex;
    size_t n, i;
    int hi, lo, rc = 0;
    char *s = NULL;

    if (v == NULL || json_is_null(v))
        goto out;
    if (json_is_string(v)) {
        s = mf_xstrdup(json_string_value(v));
        goto out;
    }
    hex = json_string_value(json_object_get(v, "hex"));
    n = hex != NULL ? strlen(hex) : 1;
    if (n % 2 != 0) {
        rc = -1;
        goto out;
    }
    s = mf_xmalloc(n / 2 + 1);
    for (i = 0; i < n / 2; i++) {
        hi = mf__hex_digit(hex[2 * i]);
        lo = mf__hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            rc = -1; /* not hex, or a NUL byte inside a path */
            goto out;
        }
        s[i] = (char)(hi << 4 | lo);
    }
    s[n / 2] = '\0';
out:
    if (rc < 0) {
        free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

/* json_dumps() plus the terminating newline of the line protocol. */
static char *mf__json_line(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | MF_JSON_REAL);
    size_t n;
    char *line;

    if (text == NULL)
        abort();
    n = strlen(text);
    line = realloc(text, n + 2);
    if (line == NULL)
        abort();
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

void mf_exec_job_close(mf_exec_job *job)
{
    if (job == NULL)
        return;
    free(job->id);
    free(job->rel_path);
    free(job->profile);
    free(job->mime);
    free(job->outdir);
    memset(job, 0, sizeof(*job));
}

char *mf_exec_job_encode(const mf_exec_job *job)
{
    json_t *obj = json_object();
    char *line;

    json_object_set_new(obj, "id", mf__json_bytes(job->id));
    json_object_set_new(obj, "rel_path", mf__json_bytes(job->rel_path));
    json_object_set_new(obj, "profile", mf__json_bytes(job->profile));
    json_object_set_new(obj, "mime", mf__json_bytes(job->mime));
    json_object_set_new(obj, "outdir", mf__json_bytes(job->outdir));
    line = mf__json_line(obj);
    json_decref(obj);
    return line;
}

int mf_exec_job_decode(const char *line, size_t len, mf_exec_job *job, mf_err *err)
{
    static const char *const names[] = {"id", "rel_path", "profile", "mime", "outdir"};
    char **fields[] = {&job->id, &job->rel_path, &job->profile, &job->mime, &job->outdir};
    json_error_t jerr;
    json_t *obj = NULL;
    size_t i;
    int rc = 0;

    memset(job, 0, sizeof(*job));
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        rc = mf_err_set(err, MF_EPROTO, "job line is not a JSON object: %s", jerr.text);
        goto out;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (mf__json_get_bytes(json_object_get(obj, names[i]), fields[i]) < 0) {
            rc = mf_err_set(err, MF_EPROTO, "job line has a bad \"%s\"", names[i]);
            goto out;
        }
    }
    if (job->id == NULL || job->rel_path == NULL || job->outdir == NULL)
        rc = mf_err_set(err, MF_EPROTO, "job line lacks id, rel_path or outdir");
out:
    json_decref(obj);
    if (rc < 0)
        mf_exec_job_close(job);
    return rc;
}

char *mf_exec_reply_encode(int rc, const mf_result *res, const mf_err *err)
{
    json_t *obj = json_object();
    char *line;

    json_object_set_new(obj, "ok", json_boolean(rc == 0));
    json_object_set_new(obj, "code", json_integer(rc));
    json_object_set_new(obj, "error", rc == 0 ? json_null() : mf__json_text(err->msg));
    if (rc == 0) {
        json_object_set(obj, "meta", res->meta);
        json_object_set(obj, "outputs", res->outputs);
    }
    line = mf__json_line(obj);
    json_decref(obj);
    return line;
}

int mf_exec_reply_decode(const char *line, size_t len, mf_result *res, mf_err *err)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, 0, &jerr);
    json_t *meta, *outputs;
    json_int_t code;
    int rc = 0;

    if (!json_is_object(obj) || !json_is_boolean(json_object_get(obj, "ok"))) {
        rc = mf_err_set(err, MF_EPROTO, "executor reply is not a JSON object with \"ok\"");
        goto out;
    }
    if (json_is_false(json_object_get(obj, "ok"))) {
        code = json_integer_value(json_object_get(obj, "code"));
        if (code >= 0 || code < INT32_MIN)
            code = MF_EPROTO;
        rc = mf_err_set(err, (int)code, "%s",
                        json_string_value(json_object_get(obj, "error")) != NULL
                            ? json_string_value(json_object_get(obj, "error"))
                            : mf_strerror((int)code));
        goto out;
    }
    meta = json_object_get(obj, "meta");
    outputs = json_object_get(obj, "outputs");
    res->meta = json_is_object(meta) ? json_incref(meta) : json_object();
    res->outputs = json_is_array(outputs) ? json_incref(outputs) : json_array();
out:
    json_decref(obj);
    return rc;
}
