/* The configuration table. Every setting is declared once here with its type, default,
 * bounds and help; the INI reader, the environment, the flags, --check-config and the
 * example config file are all driven by this table. */
#include "mf/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mf/limits.h"

typedef enum { MF__CT_STR, MF__CT_INT } mf__ctype;

typedef struct mf__centry {
    const char *name;
    mf__ctype type;
    size_t offset;
    const char *sdef; /* default of a string entry */
    int64_t idef;     /* default of an integer entry */
    int64_t min, max;
    const char *help;
} mf__centry;

#define MF__S(field, def, help)                                                                    \
    {                                                                                              \
#field, MF__CT_STR, offsetof(mf_config, field), def, 0, 0, 0, help                         \
    }
#define MF__I(field, def, min, max, help)                                                          \
    {                                                                                              \
#field, MF__CT_INT, offsetof(mf_config, field), NULL, def, min, max, help                  \
    }
#define MF__DAY (24LL * 3600)
/* The per-lane entries, generated from the lane registry (mf/lanes.h). */
#define MF__LANE_TIMEOUT(lane, per, tmo, globs, noun, job_ms)                                      \
    {"timeout_" #lane,                                                                             \
     MF__CT_INT,                                                                                   \
     offsetof(mf_config, lane_timeout[MF_LANE_##lane]),                                            \
     NULL,                                                                                         \
     tmo,                                                                                          \
     1,                                                                                            \
     MF__DAY,                                                                                      \
     "seconds per " noun " job"},
#define MF__LANE_MIME(lane, per, tmo, globs, noun, job_ms)                                         \
    {"mime_" #lane,                                                                                \
     MF__CT_STR,                                                                                   \
     offsetof(mf_config, lane_mime[MF_LANE_##lane]),                                               \
     globs,                                                                                        \
     0,                                                                                            \
     0,                                                                                            \
     0,                                                                                            \
     "MIME types (fnmatch globs) sent to the " noun " lane"},

static const mf__centry mf__table[] = {
    MF__S(redis_url, "",
          "Redis: redis://[:password@]host:port[/db] or unix:///path.sock; empty = mfctl "
          "starts an embedded redis-server under state_dir"),
    MF__S(prefix, "mf:", "prefix of every Redis key"),
    MF__S(inbox, "./inbox", "folder watched for uploads (recursively)"),
    /* help texts stay short: the example file's comment lines are read by libinih too */
    MF__S(watch, "auto",
          "dispatcher: auto (inotify; polls NFS/CIFS/SMB/FUSE folders), inotify, poll (no "
          "inotify)"),
    MF__I(poll_interval_s, 5, 1, 3600,
          "seconds between polls; a polled file is recorded once unchanged over two polls"),
    MF__S(outbox, "./outbox", "folder receiving <id>/ outputs and meta.json"),
    MF__S(state_dir, "./.mf-state", "mfctl's embedded Redis (socket, AOF) lives here"),
    MF__I(visibility_timeout, MF_DEFAULT_VISIBILITY_TIMEOUT, 1, MF__DAY,
          "seconds before an unacknowledged job of a silent worker is redelivered"),
    MF__I(max_attempts, MF_DEFAULT_MAX_ATTEMPTS, 1, 100,
          "deliveries of a job before it is dead-lettered"),
    MF__I(retry_backoff_ms, MF_DEFAULT_RETRY_BACKOFF_MS, 0, 3600000,
          "first retry delay in ms; doubles per attempt, capped at the visibility timeout"),
    MF__I(events_maxlen, MF_DEFAULT_EVENTS_MAXLEN, 100, 100000000,
          "entries kept in the <prefix>events stream"),
    /* timeout_<lane> for every lane of the registry, with its default */
    MF_LANES(MF__LANE_TIMEOUT) MF__I(job_memory_mb, MF_DEFAULT_JOB_MEMORY_MB, 32, 1048576,
                                     "peak RSS of one job in MiB before it is killed and failed"),
    MF__I(max_input_bytes, MF_DEFAULT_MAX_INPUT_BYTES, 1, INT64_MAX / 2,
          "largest accepted upload in bytes"),
    MF__I(image_max_megapixels, MF_DEFAULT_IMAGE_MAX_MEGAPIXELS, 1, 10000,
          "largest image (width x height, from the header) in megapixels"),
    MF__I(image_max_frames, MF_DEFAULT_IMAGE_MAX_FRAMES, 1, 100000,
          "most pages/frames of one image"),
    MF__I(image_max_decode_mb, MF_DEFAULT_IMAGE_MAX_DECODE_MB, 16, 1048576,
          "MB one image decode may hold, estimated from its header (pixels x bands x bytes "
          "per sample where decoded whole); above it the file fails before decoding"),
    MF__I(image_near_dup_bits, MF_DEFAULT_IMAGE_NEAR_DUP_BITS, 0, MF_NEAR_DUP_BITS_MAX,
          "meta.near_duplicates lists earlier images whose perceptual hash is at most this "
          "many bits away (0..7; 0 = off, no index kept in Redis)"),
    /* mime_<lane> for every lane of the registry (why the globs: mf/lanes.h) */
    MF_LANES(MF__LANE_MIME)
        MF__S(profiles, "ocr captions preview audio",
              "profile names a top-level inbox folder may select (inbox/ocr/x.pdf -> ocr)"),
    MF__S(profile_routes, "ocr:image=doc",
          "profile:from=to lane overrides: images in inbox/ocr/ are documents to OCR"),
    MF__S(image_thumb_sizes, "thumb:256 preview:1280",
          "image outputs as name:longest-side, largest first is not required"),
    MF__S(image_format, "webp", "image output format: webp jpeg png avif"),
    MF__I(image_quality, 80, 1, 100, "image output quality"),
    MF__I(image_webp_effort, 1, 0, 6,
          "WebP encoder effort 0..6; 1 is ~3x faster than 4, about as small (bench/RESULTS.md)"),
    MF__I(image_anim_frames, 50, 1, 1000,
          "animated GIF/WebP: WebP thumbnails keep up to this many frames; 1: the first only"),
    MF__I(image_strip, 1, 0, 1,
          "1: image outputs carry no metadata (EXIF with GPS, XMP, ICC); 0: keep it"),
    MF__I(image_faces, 1, 0, 1,
          "1: meta.faces lists the frontal faces found (OpenCV cascade on a small grey copy); "
          "0: no face detection"),
    /* alt2: on the photos tried (tests/fixtures/image/README.md) it found every face, as alt
     * and default did, without default's false face in a painting; LBP "improved" missed
     * faces under its 45 px window. */
    MF__S(image_face_model, "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml",
          "OpenCV cascade file for image_faces (Debian package opencv-data)"),
    MF__S(video_hw_encoder, "none",
          "video transcode encoder: none (libx264), vaapi or nvenc; when the hardware one "
          "cannot start, libx264 is used and meta.hw_fallback says why"),
    MF__I(video_threads, 0, 0, 64,
          "threads per video job; 0: one per core, or one per core other work leaves idle"),
    MF__I(model_turntable, 1, 0, 1,
          "model lane: 1 writes turntable.webp as an animated WebP (16 frames, one turn); 0 as "
          "one still image of the 16 views stacked top to bottom"),
    MF__I(executor_idle_s, 10, 0, 86400,
          "seconds without a job after which a worker stops its executor (0: never)"),
    MF__S(webhook_urls, "",
          "mf-notifier: webhook endpoint URLs (http, https), comma-separated; empty = no "
          "webhooks"),
    MF__S(webhook_secret, "",
          "Standard Webhooks signing secret whsec_<base64>; two separated by a space while "
          "rotating (both signatures are sent)"),
    MF__S(webhook_events, "done,failed",
          "record statuses sent to webhooks, comma-separated (done failed duplicate unsupported "
          "queued processing), or *"),
    MF__S(webhook_endpoints, "",
          "endpoints with their own secret and filter: url|secret|events items, space-separated "
          "(empty part: the global one)"),
    MF__S(webhook_retry_schedule, "0,5,300,1800,7200,18000,36000,36000",
          "webhook attempts: seconds before each, from the previous one; then "
          "<prefix>webhooks:dlq"),
    MF__I(webhook_allow_private, 0, 0, 1,
          "1: webhooks may go to private, loopback and link-local addresses"),
    MF__I(webhook_max_per_host, 8, 1, 1000, "connections per webhook host at most"),
    MF__I(webhook_connect_timeout_ms, 5000, 100, 600000, "webhook connect timeout in ms"),
    MF__I(webhook_timeout_ms, 15000, 100, 3600000,
          "webhook request timeout in ms (connect, send, response)"),
    MF__I(webhook_disable_after, 5 * MF__DAY, 0, 365 * MF__DAY,
          "seconds an endpoint may fail without a success before it is disabled (0: never)"),
    MF__S(workers, "auto",
          "mfctl up: workers per lane, lane=count,...; auto: worker slots follow the lanes' "
          "backlog within the CPUs mfctl may use (lane=count after auto fixes a lane)"),
    MF__I(workers_min, 1, 0, 256, "workers=auto: workers a lane keeps without a backlog"),
    MF__I(workers_max, 0, 0, 256, "workers=auto: most workers per lane (0: one per CPU)"),
    MF__S(http_listen, "127.0.0.1:8420",
          "mf-gateway listens here (host:port, [v6]:port); empty: mfctl up starts no gateway"),
    MF__S(http_token, "",
          "mf-gateway: every request but /healthz and /readyz needs Authorization: Bearer "
          "<token>; without one the gateway listens on loopback only"),
    MF__S(log_level, "info", "debug info warn error"),
};

#define MF__NTABLE (sizeof(mf__table) / sizeof(mf__table[0]))

static const mf__centry *mf__find(const char *name)
{
    char norm[64];
    size_t i;

    for (i = 0; name[i] != '\0' && i < sizeof(norm) - 1; i++)
        norm[i] = name[i] == '-' ? '_' : (char)tolower((unsigned char)name[i]);
    norm[i] = '\0';
    for (size_t k = 0; k < MF__NTABLE; k++) {
        if (strcmp(mf__table[k].name, norm) == 0)
            return &mf__table[k];
    }
    return NULL;
}

static int mf__parse_int(const char *value, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(value, &end, 10);
    if (errno != 0 || end == value)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int mf__set(mf_config *cfg, const mf__centry *e, const char *value, const char *source,
                   mf_err *err)
{
    char *base = (char *)cfg + e->offset;
    int64_t v;

    if (e->type == MF__CT_STR) {
        char **slot = (char **)(void *)base;
        free(*slot);
        *slot = strdup(value);
        if (*slot == NULL)
            abort();
        return 0;
    }
    if (mf__parse_int(value, &v) < 0)
        return mf_err_set(err, MF_ECONFIG, "%s: %s = '%s' is not a whole number", source, e->name,
                          value);
    if (v < e->min || v > e->max)
        return mf_err_set(err, MF_ECONFIG, "%s: %s = %lld is out of range [%lld, %lld]", source,
                          e->name, (long long)v, (long long)e->min, (long long)e->max);
    *(int64_t *)(void *)base = v;
    return 0;
}

int mf_config_set(mf_config *cfg, const char *name, const char *value, mf_err *err)
{
    const mf__centry *e = mf__find(name);

    if (e == NULL)
        return mf_err_set(err, MF_ECONFIG, "unknown setting '%s'", name);
    return mf__set(cfg, e, value, "setting", err);
}

typedef struct mf__ini_ctx {
    mf_config *cfg;
    mf_err *err;
    const char *path;
    int rc;
} mf__ini_ctx;

static int mf__ini_handler(void *user, const char *section, const char *name, const char *value)
{
    mf__ini_ctx *ctx = user;
    const mf__centry *e;

    if (ctx->rc < 0)
        return 0;
    if (section[0] != '\0' && strcmp(section, "mediafleet") != 0) {
        ctx->rc = mf_err_set(ctx->err, MF_ECONFIG, "%s: unknown section [%s]", ctx->path, section);
        return 0;
    }
    e = mf__find(name);
    if (e == NULL) {
        ctx->rc = mf_err_set(ctx->err, MF_ECONFIG, "%s: unknown setting '%s'", ctx->path, name);
        return 0;
    }
    ctx->rc = mf__set(ctx->cfg, e, value, ctx->path, ctx->err);
    return ctx->rc == 0;
}

static int mf__load_ini(mf_config *cfg, const char *path, mf_err *err)
{
    mf__ini_ctx ctx = {cfg, err, path, 0};
    int line = ini_parse(path, mf__ini_handler, &ctx);

    if (ctx.rc < 0)
        return ctx.rc;
    if (line == -1)
        return mf_err_set(err, MF_ECONFIG, "cannot open config file %s: %s", path, strerror(errno));
    if (line != 0)
        return mf_err_set(err, MF_ECONFIG, "%s:%d: syntax error", path, line);
    return 0;
}

/* "visibility_timeout" -> "MF_VISIBILITY_TIMEOUT" */
static const char *mf__env_name(const mf__centry *e, char *env, size_t size)
{
    size_t i;

    env[0] = 'M';
    env[1] = 'F';
    env[2] = '_';
    for (i = 0; e->name[i] != '\0' && i + 4 < size; i++)
        env[3 + i] = (char)toupper((unsigned char)e->name[i]);
    env[3 + i] = '\0';
    return env;
}

static int mf__load_env(mf_config *cfg, mf_err *err)
{
    for (size_t k = 0; k < MF__NTABLE; k++) {
        char env[80];
        const char *value;

        value = getenv(mf__env_name(&mf__table[k], env, sizeof(env)));
        if (value != NULL && mf__set(cfg, &mf__table[k], value, env, err) < 0)
            return err ? err->code : MF_ECONFIG;
    }
    return 0;
}

/* Consumes --name=value and --name value for names in the table; leaves the rest. */
static int mf__load_flags(mf_config *cfg, int *argc, char **argv, mf_err *err)
{
    int out = 1;
    int rc = 0;

    for (int i = 1; i < *argc; i++) {
        const char *arg = argv[i];
        char name[64];
        const char *eq;
        const char *value = NULL;
        const mf__centry *e;
        size_t len;

        if (strcmp(arg, "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strncmp(arg, "--", 2) != 0 || rc < 0) {
            argv[out++] = argv[i];
            continue;
        }
        eq = strchr(arg + 2, '=');
        len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof(name)) {
            argv[out++] = argv[i];
            continue;
        }
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        e = mf__find(name);
        if (e == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if (eq != NULL)
            value = eq + 1;
        else if (i + 1 < *argc)
            value = argv[++i];
        else {
            rc = mf_err_set(err, MF_ECONFIG, "flag --%s needs a value", name);
            continue;
        }
        rc = mf__set(cfg, e, value, "command line", err);
    }
    argv[out] = NULL;
    *argc = out;
    return rc;
}

/* Removes --config FILE / --config=FILE from argv; *path is FILE or stays NULL. */
static int mf__take_config_flag(int *argc, char **argv, const char **path, mf_err *err)
{
    int out = 1;
    int rc = 0;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strncmp(argv[i], "--config=", 9) == 0)
            *path = argv[i] + 9;
        else if (strcmp(argv[i], "--config") != 0)
            argv[out++] = argv[i];
        else if (i + 1 < *argc)
            *path = argv[++i];
        else
            rc = mf_err_set(err, MF_ECONFIG, "flag --config needs a value");
    }
    argv[out] = NULL;
    *argc = out;
    return rc;
}

int mf_config_load(mf_config *cfg, const char *ini_path, int *argc, char **argv, mf_err *err)
{
    int rc = 0;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t k = 0; k < MF__NTABLE; k++) {
        const mf__centry *e = &mf__table[k];
        char *base = (char *)cfg + e->offset;

        if (e->type == MF__CT_INT) {
            *(int64_t *)(void *)base = e->idef;
            continue;
        }
        *(char **)(void *)base = strdup(e->sdef);
        if (*(char **)(void *)base == NULL)
            abort();
    }
    if (ini_path == NULL && argc != NULL && argv != NULL) {
        rc = mf__take_config_flag(argc, argv, &ini_path, err);
        if (rc < 0)
            goto out;
    }
    if (ini_path == NULL)
        ini_path = getenv("MF_CONFIG");
    if (ini_path != NULL && ini_path[0] != '\0') {
        char real[PATH_MAX];

        rc = mf__load_ini(cfg, ini_path, err);
        if (rc < 0)
            goto out;
        cfg->config_file = strdup(realpath(ini_path, real) ? real : ini_path);
        if (cfg->config_file == NULL)
            abort();
    }
    rc = mf__load_env(cfg, err);
    if (rc < 0)
        goto out;
    if (argc != NULL && argv != NULL)
        rc = mf__load_flags(cfg, argc, argv, err);
out:
    return rc;
}

void mf_config_close(mf_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t k = 0; k < MF__NTABLE; k++) {
        if (mf__table[k].type == MF__CT_STR) {
            char **slot = (char **)(void *)((char *)cfg + mf__table[k].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(cfg->config_file);
    cfg->config_file = NULL;
}

void mf_config_dump(const mf_config *cfg, FILE *out, int with_help)
{
    fprintf(out, "[mediafleet]\n");
    for (size_t k = 0; k < MF__NTABLE; k++) {
        const mf__centry *e = &mf__table[k];
        const char *base = (const char *)cfg + e->offset;
        char env[80];

        if (with_help)
            fprintf(out, "%s; %s (env %s)\n", k ? "\n" : "", e->help,
                    mf__env_name(e, env, sizeof(env)));
        if (e->type == MF__CT_STR)
            fprintf(out, "%s = %s\n", e->name, *(char *const *)(const void *)base);
        else
            fprintf(out, "%s = %lld\n", e->name, (long long)*(const int64_t *)(const void *)base);
    }
}

int64_t mf_config_lane_timeout(const mf_config *cfg, const char *lane)
{
    int i = mf_lanes_index(lane);

    return i < 0 ? -1 : cfg->lane_timeout[i];
}
