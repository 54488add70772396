/* Configuration: one declarative table (name, type, default, bounds, help) in config.c.
 * Sources, later wins: built-in default < INI file (libinih; [mediafleet] section or no
 * section) < MF_<NAME> environment variables < command-line flags (--name=value or
 * --name value, '_' may be written '-').
 *
 * Ownership: mf_config_load() fills a caller-owned mf_config; strings inside are heap
 * copies released by mf_config_close(). Not thread-safe while loading; read-only after. */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "mf/err.h"
#include "mf/lanes.h"

typedef struct mf_config {
    /* where */
    char *redis_url; /* redis://[:password@]host:port[/db] or unix:///path; "" = embedded */
    char *prefix;    /* key prefix, "mf:" */
    char *inbox;
    char *outbox;
    char *watch;             /* "auto", "inotify", "poll" (dispatcher) */
    int64_t poll_interval_s; /* seconds between polls of network-share folders */
    char *state_dir;         /* mfctl's embedded redis lives here */
    /* delivery */
    int64_t visibility_timeout; /* seconds */
    int64_t max_attempts;
    int64_t retry_backoff_ms;
    int64_t events_maxlen;
    /* per-lane wall clock, seconds: entry timeout_<lane>, index MF_LANE_<lane> (mf/lanes.h) */
    int64_t lane_timeout[MF_LANE_COUNT];
    int64_t job_memory_mb;
    /* limits */
    int64_t max_input_bytes;
    int64_t image_max_megapixels;
    int64_t image_max_frames;
    int64_t image_max_decode_mb; /* estimated decode memory of one image, from its header */
    int64_t executor_idle_s;     /* stop an executor idle this long; 0 = never */
    int64_t image_near_dup_bits; /* meta.near_duplicates within this Hamming distance; 0 = off */
    /* classification: space-separated MIME globs per lane: entry mime_<lane>, index
     * MF_LANE_<lane> */
    char *lane_mime[MF_LANE_COUNT];
    /* profiles: space-separated names a top-level inbox folder may select */
    char *profiles;
    /* "profile:from=to" lane overrides, e.g. "ocr:image=doc" */
    char *profile_routes;
    /* image lane */
    char *image_thumb_sizes; /* "thumb:256 preview:1280" */
    char *image_format;      /* webp jpeg png avif */
    int64_t image_quality;
    int64_t image_webp_effort; /* libwebp method for webp outputs */
    int64_t image_anim_frames; /* frames kept in animated WebP outputs; 1: first only */
    int64_t image_strip;       /* 1: outputs without EXIF/XMP/ICC */
    int64_t image_faces;       /* 1: meta.faces from an OpenCV cascade */
    char *image_face_model;    /* the cascade file (opencv-data) */
    /* video lane */
    char *video_hw_encoder; /* "none", "vaapi", "nvenc": hardware H.264, libx264 fallback */
    int64_t video_threads;  /* per job; 0: auto (mf_video_threads_pick) */
    /* model lane */
    int64_t model_turntable; /* 1: turntable.webp animated; 0: one still strip of the views */
    /* webhooks (mf-notifier) */
    char *webhook_urls;            /* comma-separated URLs */
    char *webhook_secret;          /* "whsec_..." or two separated by a space */
    char *webhook_events;          /* "done,failed" */
    char *webhook_endpoints;       /* "url|secret|events ..." */
    char *webhook_retry_schedule;  /* seconds, comma-separated */
    int64_t webhook_allow_private; /* 1: private/loopback/link-local addresses allowed */
    int64_t webhook_max_per_host;  /* CURLMOPT_MAX_HOST_CONNECTIONS */
    int64_t webhook_connect_timeout_ms;
    int64_t webhook_timeout_ms;
    int64_t webhook_disable_after; /* seconds failing without success; 0 = never */
    /* fleet */
    char *workers;       /* "image=2,video=1,doc=1" */
    int64_t workers_min; /* workers=auto: per lane at least */
    int64_t workers_max; /* workers=auto: per lane at most; 0: the CPU budget */
    /* gateway (mf-gateway) */
    char *http_listen; /* "host:port", "[v6]:port"; "" = no gateway */
    char *http_token;  /* Bearer token; "" = none (loopback only) */
    char *log_level;
    /* not a setting: the INI file that was read (absolute), or NULL */
    char *config_file;
} mf_config;

/* Loads defaults, then an INI file, environment, then argv flags. The INI file is ini_path,
 * or when that is NULL the --config FILE (--config=FILE) flag in argv, else $MF_CONFIG, else
 * none. Recognised flags (settings and --config) are removed from argv (argc updated); others
 * are left for the caller, as is everything after "--". Returns 0 or MF_ECONFIG with err
 * naming the bad entry. */
int mf_config_load(mf_config *cfg, const char *ini_path, int *argc, char **argv, mf_err *err);
void mf_config_close(mf_config *cfg);

/* Sets one entry by name from a string, with the table's type and bounds. */
int mf_config_set(mf_config *cfg, const char *name, const char *value, mf_err *err);

/* Writes the effective configuration as INI (used by --check-config and to generate
 * deploy/mediafleet.ini.example with help comments when with_help is set). */
void mf_config_dump(const mf_config *cfg, FILE *out, int with_help);

/* The timeout (seconds, at least 1) configured for a lane name (entry timeout_<lane>), or -1
 * when lane is not in the registry (mf/lanes.h): never a silent "no limit". */
int64_t mf_config_lane_timeout(const mf_config *cfg, const char *lane);

#endif
