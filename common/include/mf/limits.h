/* Every built-in limit, with the reason for its value. Each is the default of a config
 * entry (see config.c) unless marked fixed; change them there, not here. */
#ifndef MF_LIMITS_H
#define MF_LIMITS_H

/* Largest accepted upload. 4 GiB covers long phone videos; anything bigger is almost
 * certainly an archive or a disk image that no lane processes. */
#define MF_DEFAULT_MAX_INPUT_BYTES (4LL * 1024 * 1024 * 1024)

/* 100 MP: the largest common camera sensors (Fujifilm GFX 100, Phase One) fit; a bigger
 * "image" is a panorama stitch or a decompression bomb. */
#define MF_DEFAULT_IMAGE_MAX_MEGAPIXELS 100
/* Memory (MiB) one image decode may hold, estimated from the header before a pixel is
 * decoded: pixels x bands x bytes per sample, for the loaders that hold the whole image at
 * once (interlaced PNG, progressive JPEG's coefficients, GIF, WebP, HEIF, JPEG 2000, JPEG XL,
 * ImageMagick's BMP/ICO/PSD) or, in the document lane, the page kept whole for OCR. 512 MB
 * lets a 100 MP RGBA 8-bit image through (400 MB) and stops a 100 MP 16-bit RGBA interlaced
 * PNG (800 MB) with a reason, well before job_memory_mb kills the executor. */
#define MF_DEFAULT_IMAGE_MAX_DECODE_MB 512
/* Animated GIF/WebP frames decoded at most. */
#define MF_DEFAULT_IMAGE_MAX_FRAMES 300

/* meta.near_duplicates lists earlier images whose perceptual hash is at most this many bits
 * from the new one. Rescaled and recompressed copies are a few bits apart; unrelated images
 * usually well over 10 (32 on average for random hashes). At most 7: the band index
 * (queues/lua/neardup.lua) finds every hash within 7 bits, no further. */
#define MF_DEFAULT_IMAGE_NEAR_DUP_BITS 6
#define MF_NEAR_DUP_BITS_MAX 7
/* Entries read from one band bucket at most. Flat and uniform images (blank pages, black
 * frames) share a few hash values: without a cap every such upload would read them all.
 * Fixed. */
#define MF_NEAR_DUP_BUCKET_MAX 2000
/* Near-duplicates listed per image at most, nearest first. Fixed. */
#define MF_NEAR_DUP_LIST_MAX 20

/* Seconds a lane may spend on one job before the child is killed: per lane, in the lane
 * registry (mf/lanes.h, config entries timeout_<lane>). */

/* Peak RSS (MiB) of one job's executor before it is killed: the worker must survive a
 * memory blow-up on one input. 150 MB is the image target; video needs more. */
#define MF_DEFAULT_JOB_MEMORY_MB 1024

/* A job not acknowledged within this many seconds is handed to another worker. It must be
 * longer than the slowest lane's timeout would make it pointless, so the owner renews it
 * while it works (the idle time is reset on every heartbeat). */
#define MF_DEFAULT_VISIBILITY_TIMEOUT 60

/* Deliveries before a job is dead-lettered: enough for a Redis blip and one crash. */
#define MF_DEFAULT_MAX_ATTEMPTS 3
/* Executor crashes (a signal while processing) after which a file fails for good, whatever
 * attempts are left: a decoder that crashed twice on the same bytes crashes again, and each
 * try costs a fresh executor (the lane's start-up) plus whatever the crash left in memory on
 * a hostile input. One crash is still retried: an OOM kill caused by a neighbour, or a
 * heisenbug, deserve a second chance. Fixed. */
#define MF_MAX_CRASHES 2
/* First retry delay; doubles per attempt, capped at the visibility timeout. */
#define MF_DEFAULT_RETRY_BACKOFF_MS 1000

/* Reconnecting to Redis (dispatcher, workers, mfctl): the first retry soon (a restart takes
 * ~100 ms), then doubling so a fleet does not hammer a Redis that is down, but never more
 * than 5 s of extra downtime once it is back. Fixed. */
#define MF_REDIS_RETRY_MIN_MS 100
#define MF_REDIS_RETRY_MAX_MS 5000
/* Restarting a child that died (mfctl up): 1 s doubling to 30 s, so a binary that crashes
 * at start does not spin, back to 1 s once a child ran a minute. Fixed. */
#define MF_RESTART_BACKOFF_MIN_MS 1000
#define MF_RESTART_BACKOFF_MAX_MS 30000
#define MF_RESTART_BACKOFF_RESET_MS 60000

/* Bytes of a file given to libmagic: every media signature we map sits in the first
 * few KiB; 64 KiB also lets it tell ZIP-based office formats apart. Fixed. */
#define MF_MAGIC_HEAD_BYTES (64 * 1024)

/* Entries kept in the mf:events stream (approximate trim). */
#define MF_DEFAULT_EVENTS_MAXLEN 100000

/* Longest path (relative to the inbox) we record. Fixed: PATH_MAX. */
#define MF_PATH_MAX 4096

#endif
