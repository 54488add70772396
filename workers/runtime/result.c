/* mf_result: what a lane hands back for one job (see mf/lane.h), and what the runtime adds
 * to it: the record of every output (meta.outputs) and what made them (meta.provenance). */
#include "mf/lane.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mf/hash.h"

void mf_result_init(mf_result *res)
{
    res->meta = json_object();
    res->outputs = json_array();
}

void mf_result_close(mf_result *res)
{
    if (res == NULL)
        return;
    json_decref(res->meta);
    json_decref(res->outputs);
    res->meta = NULL;
    res->outputs = NULL;
}

void mf_result_add_output(mf_result *res, const char *name)
{
    json_t *s = json_string(name);

    /* Output names are chosen by the lane ("thumb-256.webp"), so they are ASCII; a name that is
     * not UTF-8 is a bug in the lane, and dropping it beats aborting the job. */
    if (s != NULL)
        json_array_append_new(res->outputs, s);
}

void mf_result_output_info(mf_result *res, const char *name, const char *key, json_t *value)
{
    json_t *outs = json_object_get(res->meta, "outputs"), *one;

    if (!json_is_object(outs)) {
        outs = json_object();
        json_object_set_new(res->meta, "outputs", outs);
    }
    one = json_object_get(outs, name);
    if (one == NULL) {
        one = json_object();
        json_object_set_new(outs, name, one);
    }
    json_object_set_new(one, key, value);
}

/* ---- meta.outputs and meta.provenance (see mf/lane.h) ------------------------------------ */

static const char *mf__mime_of(const char *name)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".webp", "image/webp"},     {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
        {".png", "image/png"},       {".avif", "image/avif"},       {".mp4", "video/mp4"},
        {".m4a", "audio/mp4"},       {".vtt", "text/vtt"},          {".txt", "text/plain"},
        {".pdf", "application/pdf"}, {".glb", "model/gltf-binary"}, {".json", "application/json"}};
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcasecmp(name + n - e, types[i].ext) == 0)
            return types[i].mime;
    }
    return "application/octet-stream";
}

/* One output's record: path (from the outbox, as in `outputs`), mime, size, sha256, and what
 * the lane said of it. Returns 0 or an error (the file is not there: a bug in the lane). */
static int mf__describe_one(const char *id, const char *outdir, const char *name, json_t *known,
                            json_t *list, mf_err *err)
{
    char path[PATH_MAX + 256], hex[MF_SHA256_HEX_LEN];
    int64_t size = 0;
    json_t *o;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", outdir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return mf_err_set(err, MF_EINVAL, "output %s was listed but not written: %s", name,
                          strerror(errno));
    rc = mf_hash_fd(fd, hex, NULL, 0, NULL, &size, err);
    close(fd);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", id, name);
    o = json_is_object(known) ? json_deep_copy(known) : json_object();
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "mime", json_string(mf__mime_of(name)));
    json_object_set_new(o, "size", json_integer(size));
    json_object_set_new(o, "sha256", json_string(hex));
    json_array_append_new(list, o);
    return 0;
}

/* The settings that shape a lane's outputs: every config entry named <lane>_*, its timeout
 * and the input limits, from the configuration dump (so a new setting is in by itself). */
static json_t *mf__settings(const mf_config *cfg, const char *lane)
{
    char *buf = NULL, *line, *next, want[64];
    size_t len = 0, wlen;
    json_t *values = json_object();
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        abort();
    mf_config_dump(cfg, f, 0);
    fclose(f);
    wlen = (size_t)snprintf(want, sizeof(want), "%s_", lane);
    for (line = buf; line != NULL && *line != '\0'; line = next) {
        char *eq, tmo[64];

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        eq = strstr(line, " = ");
        if (eq == NULL || line[0] == ';' || line[0] == '[')
            continue;
        *eq = '\0';
        snprintf(tmo, sizeof(tmo), "timeout_%s", lane);
        if (strncmp(line, want, wlen) == 0 || strcmp(line, tmo) == 0 ||
            strcmp(line, "max_input_bytes") == 0 || strcmp(line, "job_memory_mb") == 0)
            json_object_set_new(values, line, json_string(eq + 3));
    }
    free(buf);
    return values;
}

int mf_result_describe(mf_result *res, const mf_lane *lane, const mf_config *cfg, const char *id,
                       const char *outdir, mf_err *err)
{
    json_t *known = json_object_get(res->meta, "outputs"), *list = json_array(), *name, *prov;
    json_t *libs = json_object(), *values;
    char hex[MF_SHA256_HEX_LEN], *text;
    size_t i;
    int rc = 0;

    json_array_foreach(res->outputs, i, name)
    {
        const char *n = json_string_value(name);

        rc = n != NULL ? mf__describe_one(id, outdir, n, json_object_get(known, n), list, err) : 0;
        if (rc < 0)
            goto out;
    }
    json_object_set(res->meta, "outputs", list);
    if (lane->provenance != NULL)
        lane->provenance(libs);
    values = mf__settings(cfg, lane->name);
    text = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        abort();
    mf_hash_bytes(text, strlen(text), hex);
    free(text);
    prov = json_pack("{s:s,s:s,s:o,s:{s:s,s:o}}", "worker_version", MF_VERSION, "lane", lane->name,
                     "libraries", json_incref(libs), "settings", "sha256", hex, "values", values);
    json_object_set_new(res->meta, "provenance", prov);
out:
    json_decref(libs);
    json_decref(list);
    return rc;
}
