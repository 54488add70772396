/* The dispatcher (mf-dispatcher): notices completed uploads in the inbox, hashes and classifies
 * them off the event loop, and records and enqueues them in batches.
 *
 * The pieces are exposed here so that unit tests can drive them without inotify or Redis:
 *   - mf_dispatch_decide(): what one inotify event means (pure);
 *   - mf_classifier: libmagic, safe to call from any thread;
 *   - mf_dispatch_inspect(): the per-file work (open safely, hash, classify, map), blocking;
 *   - mf_dispatch_run(): the event loop itself (main.c is a thin wrapper around it). */
#ifndef MF_DISPATCH_H
#define MF_DISPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include "mf/config.h"
#include "mf/err.h"
#include "mf/hash.h"

/* ---- inotify events -------------------------------------------------------------------- */

/* The mask every watched folder gets. IN_CLOSE_WRITE and IN_MOVED_TO mean "an upload is
 * complete"; IN_CREATE of a file is a new name that may be a hard link to a complete file
 * (`ln`: no write, no rename); IN_CREATE/IN_MOVED_FROM of folders keep the recursive watch
 * set current; IN_ONLYDIR|IN_DONT_FOLLOW make sure a watch never lands on a symlink's target. */
#define MF_DISPATCH_WATCH_MASK                                                                     \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MOVED_FROM | IN_DELETE_SELF | IN_ONLYDIR |      \
     IN_DONT_FOLLOW)

typedef enum mf_dispatch_action {
    MF_DISPATCH_NONE = 0,   /* nothing to do */
    MF_DISPATCH_FILE,       /* a file is complete: inspect and record it */
    MF_DISPATCH_FILE_NAME,  /* a new name (IN_CREATE): an upload when it is a hard link, i.e. a
                             * regular file with more than one link; else wait for its close */
    MF_DISPATCH_DIR_NEW,    /* a folder appeared (created or moved in): watch and scan it */
    MF_DISPATCH_DIR_GONE,   /* a folder was moved away: forget its watches */
    MF_DISPATCH_WATCH_GONE, /* the kernel dropped this watch (IN_IGNORED) */
    MF_DISPATCH_RESCAN,     /* events were lost (IN_Q_OVERFLOW): scan everything */
} mf_dispatch_action;

/* Maps one event (mask and name; name may be NULL or "" for events about the watched folder
 * itself) to an action. Ignored names (mf_path_ignored: dotfiles, *.part, ...) give NONE for
 * files and folders alike: they are picked up when renamed. Pure; thread-safe. */
mf_dispatch_action mf_dispatch_decide(uint32_t mask, const char *name);

/* "file", "dir-new", ... for logs and tests. Never NULL. */
const char *mf_dispatch_action_name(mf_dispatch_action action);

/* ---- classification -------------------------------------------------------------------- */

typedef struct mf_classifier mf_classifier;

#define MF_MIME_MAX 128

/* Loads the magic database once to validate it. Returns 0 or MF_ECONFIG with err set. The
 * classifier keeps a pool of loaded magic_t handles (libmagic handles are not thread-safe,
 * but distinct handles are independent): each call borrows one, so concurrent callers never
 * share a handle and never wait for each other. Freed by mf_classify_free (NULL-safe). */
int mf_classify_new(mf_classifier **out, mf_err *err);
void mf_classify_free(mf_classifier *c);

/* MIME type of the first bytes of a file (MAGIC_MIME_TYPE), e.g. "image/png",
 * "application/x-empty" for len 0. Writes into mime (>= MF_MIME_MAX). Thread-safe.
 * Returns 0 or MF_EUNSUPPORTED with err set (libmagic failed). */
int mf_classify_buffer(mf_classifier *c, const void *buf, size_t len, char *mime, size_t size,
                       mf_err *err);

/* The answer libmagic gives (MAGIC_MIME_TYPE) for a head it would decide from its first
 * bytes alone, without asking libmagic: "image/png" for the PNG signature followed by an IHDR
 * chunk, "image/jpeg" for an SOI followed by a marker. NULL when libmagic must decide (any
 * other head, and the rare cases these could be something else to libmagic: short heads, an
 * animated PNG, a tar header at offset 257). mf_classify_buffer() calls it first. Checked
 * against libmagic over real files by bench/magic.sh. Thread-safe, pure. */
const char *mf_classify_fast(const void *buf, size_t len);

/* A 3D model's MIME type (model/obj, model/stl, model/x-ply, model/x-off, model/gltf+json,
 * model/gltf-binary, model/3mf, model/x-3ds, model/x-fbx, model/vnd.collada+xml,
 * model/vnd.collada+zip) when mime, libmagic's answer, is the container such a model is
 * called (text/plain, application/octet-stream, application/json, application/zip,
 * image/x-3ds, XML) and the head
 * (len bytes of a file of size bytes, -1 when unknown) has the format's structure; name (the
 * path, may be NULL) gives the extension as a hint. NULL: keep mime. Pure; thread-safe. */
const char *mf_sniff_model(const char *mime, const void *head, size_t len, int64_t size,
                           const char *name);

/* Number of magic_t handles loaded so far (the pool's high-water mark). */
size_t mf_classify_handles(mf_classifier *c);

/* ---- per-file work --------------------------------------------------------------------- */

#define MF_PROFILE_MAX 64

#define MF_REFUSED_MAX 160

typedef struct mf_inspect {
    int64_t size;
    int64_t mtime_ms;
    char sha256[MF_SHA256_HEX_LEN]; /* "" when refused (not hashed) */
    char mime[MF_MIME_MAX];
    const char *lane; /* "image" "video" "doc" (static strings) or NULL: unsupported */
    char profile[MF_PROFILE_MAX];
    /* "" for an upload to queue; else why it is refused before any lane sees it, for a
     * person: "file is empty", "file is 5.0 GiB, over the 4.0 GiB limit max_input_bytes" */
    char refused[MF_REFUSED_MAX];
} mf_inspect;

/* Inspects rel (relative to the folder inbox_fd) the way the dispatcher does on its thread
 * pool: opens it beneath the inbox without following any symlink, checks it is a regular
 * file, hashes it whole (SHA-256) while keeping its first MF_MAGIC_HEAD_BYTES for libmagic,
 * maps the MIME type to a lane with cfg's globs and the path to a profile.
 *
 * A file no lane should see is still a success (0) with out->refused set and no hash: an
 * empty file, and a file over cfg->max_input_bytes, decided from fstat() before reading more
 * than its head (its MIME type and lane are still filled in, for the record).
 *
 * With check_writers set (the dispatcher always sets it), a file that some process still has
 * open for writing is refused with MF_EBUSY: a scan can meet an upload in progress, and a
 * close by one writer says nothing while another still writes. The test takes a read lease
 * (fcntl F_SETLEASE), which is only granted when nobody writes the file; where leases are
 * not permitted (another owner without CAP_LEASE, a filesystem without leases) the file is
 * taken as complete and a warning is logged once. The caller must ignore SIGIO
 * (mf_dispatch_run does): a writer opening the file while the lease is held sends it.
 *
 * Returns 0, or: MF_ESYMLINK (a symlink on the way), MF_EUNSUPPORTED (not a regular file),
 * MF_EBUSY (still being written), -ENOENT (gone), another -errno. Blocking; thread-safe. */
int mf_dispatch_inspect(int inbox_fd, const char *rel, const mf_config *cfg, mf_classifier *magic,
                        int check_writers, mf_inspect *out, mf_err *err);

/* ---- the dispatcher -------------------------------------------------------------------- */

/* Runs the dispatcher until SIGTERM/SIGINT: watches cfg->inbox, scans it, records and
 * enqueues uploads in cfg->redis_url. Returns 0 after a clean drain, or an error code with
 * err set when it cannot start (inbox missing, bad Redis URL, magic database) or the inbox
 * disappears. Must be called from the main thread; installs signal handlers. */
int mf_dispatch_run(const mf_config *cfg, mf_err *err);

#endif
