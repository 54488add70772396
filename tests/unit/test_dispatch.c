/* Unit tests of the dispatcher's pure and per-file logic: what an inotify event means,
 * classification with the real libmagic database on real file headers, the per-file
 * inspection (safe open, completeness, hash, lane, profile) on real files, and the small
 * hash table the loop keeps its maps in. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <magic.h>
#include <openssl/evp.h>

#include "mf/config.h"
#include "mf/dispatch.h"
#include "mf/lanemap.h"
#include "../../dispatcher/htab.h"

/* ---- fixtures: the first bytes of real files of each kind ------------------------------ */

static const unsigned char fx_jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46,
                                        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
/* signature + IHDR of a 1x1 8-bit grey PNG, CRC included */
static const unsigned char fx_png[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00,
                                       0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
                                       0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00,
                                       0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55};
static const char fx_pdf[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
/* ftyp box (isom, compatible isom iso2 avc1 mp41) and a free box */
static const unsigned char fx_mp4[] = {0x00, 0x00, 0x00, 0x20, 'f',  't',  'y', 'p', 'i', 's',
                                       'o',  'm',  0x00, 0x00, 0x02, 0x00, 'i', 's', 'o', 'm',
                                       'i',  's',  'o',  '2',  'a',  'v',  'c', '1', 'm', 'p',
                                       '4',  '1',  0x00, 0x00, 0x00, 0x08, 'f', 'r', 'e', 'e'};
static const char fx_gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00";
static const char fx_webp[] = "RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00";
static const char fx_text[] = "hello, this is plain text\n";

typedef struct fixture {
    const void *buf;
    size_t len;
    const char *mime;
    const char *lane; /* with the default globs */
} fixture;

static const fixture fixtures[] = {
    {fx_jpeg, sizeof(fx_jpeg), "image/jpeg", "image"},
    {fx_png, sizeof(fx_png), "image/png", "image"},
    {fx_pdf, sizeof(fx_pdf) - 1, "application/pdf", "doc"},
    {fx_mp4, sizeof(fx_mp4), "video/mp4", "video"},
    {fx_gif, sizeof(fx_gif) - 1, "image/gif", "image"},
    {fx_webp, sizeof(fx_webp) - 1, "image/webp", "image"},
    {fx_text, sizeof(fx_text) - 1, "text/plain", NULL},
    {"", 0, "application/x-empty", NULL},
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static mf_config test_cfg(void)
{
    mf_config cfg;
    mf_err err = {0};

    assert_int_equal(mf_config_load(&cfg, NULL, NULL, NULL, &err), 0);
    /* the defaults of the table, whatever the environment running the tests says */
    assert_int_equal(mf_config_set(&cfg, "mime_image",
                                   "image/jpeg image/png image/webp image/gif image/tiff", &err),
                     0);
    assert_int_equal(mf_config_set(&cfg, "mime_video", "video/* audio/*", &err), 0);
    assert_int_equal(mf_config_set(&cfg, "mime_doc", "application/pdf", &err), 0);
    assert_int_equal(mf_config_set(&cfg, "profiles", "ocr captions", &err), 0);
    return cfg;
}

/* ---- mf_dispatch_decide ------------------------------------------------------------------ */

static void test_decide_files(void **state)
{
    (void)state;
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "cat.jpg"), MF_DISPATCH_FILE);
    assert_int_equal(mf_dispatch_decide(IN_MOVED_TO, "cat.jpg"), MF_DISPATCH_FILE);
    /* a new name may be a hard link to a complete file (`ln`), which gets no other event:
     * the watcher looks at its link count; moved away is not ours any more */
    assert_int_equal(mf_dispatch_decide(IN_CREATE, "cat.jpg"), MF_DISPATCH_FILE_NAME);
    assert_int_equal(mf_dispatch_decide(IN_CREATE, ".cat.jpg"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_CREATE, "cat.jpg.part"), MF_DISPATCH_NONE);
    assert_string_equal(mf_dispatch_action_name(MF_DISPATCH_FILE_NAME), "file-name");
    assert_int_equal(mf_dispatch_decide(IN_MOVED_FROM, "cat.jpg"), MF_DISPATCH_NONE);
    /* ignored names wait until renamed */
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "cat.jpg.part"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "cat.jpg.tmp"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "cat.crdownload"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "cat.jpg~"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_MOVED_TO, ".cat.jpg"), MF_DISPATCH_NONE);
    /* names are bytes: spaces, newlines, invalid UTF-8 are ordinary */
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE, "a b\nc\xff.jpg"), MF_DISPATCH_FILE);
}

static void test_decide_folders(void **state)
{
    (void)state;
    assert_int_equal(mf_dispatch_decide(IN_CREATE | IN_ISDIR, "photos"), MF_DISPATCH_DIR_NEW);
    assert_int_equal(mf_dispatch_decide(IN_MOVED_TO | IN_ISDIR, "photos"), MF_DISPATCH_DIR_NEW);
    assert_int_equal(mf_dispatch_decide(IN_MOVED_FROM | IN_ISDIR, "photos"), MF_DISPATCH_DIR_GONE);
    assert_int_equal(mf_dispatch_decide(IN_CREATE | IN_ISDIR, ".git"), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_CREATE | IN_ISDIR, "upload.tmp"), MF_DISPATCH_NONE);
    /* a folder is never a file, whatever the event */
    assert_int_equal(mf_dispatch_decide(IN_CLOSE_WRITE | IN_ISDIR, "photos"), MF_DISPATCH_NONE);
}

static void test_decide_queue_events(void **state)
{
    (void)state;
    assert_int_equal(mf_dispatch_decide(IN_Q_OVERFLOW, NULL), MF_DISPATCH_RESCAN);
    assert_int_equal(mf_dispatch_decide(IN_IGNORED, NULL), MF_DISPATCH_WATCH_GONE);
    assert_int_equal(mf_dispatch_decide(IN_DELETE_SELF, NULL), MF_DISPATCH_NONE);
    assert_int_equal(mf_dispatch_decide(IN_DELETE_SELF, ""), MF_DISPATCH_NONE);
    assert_string_equal(mf_dispatch_action_name(MF_DISPATCH_RESCAN), "rescan");
}

/* ---- classification ---------------------------------------------------------------------- */

static void test_classify_headers(void **state)
{
    mf_config cfg = test_cfg();
    mf_classifier *c = NULL;
    mf_err err = {0};
    char mime[MF_MIME_MAX];

    (void)state;
    assert_int_equal(mf_classify_new(&c, &err), 0);
    for (size_t i = 0; i < N_FIXTURES; i++) {
        const char *lane;

        assert_int_equal(
            mf_classify_buffer(c, fixtures[i].buf, fixtures[i].len, mime, sizeof(mime), &err), 0);
        assert_string_equal(mime, fixtures[i].mime);
        lane = mf_lanemap_lane(mime, (const char *const *)cfg.lane_mime, MF_LANE_COUNT);
        if (fixtures[i].lane == NULL)
            assert_null(lane);
        else
            assert_string_equal(lane, fixtures[i].lane);
    }
    mf_classify_free(c);
    mf_config_close(&cfg);
}

/* A PNG signature alone is not a PNG to libmagic: it wants the IHDR chunk. */
static void test_classify_truncated_png(void **state)
{
    mf_classifier *c = NULL;
    mf_err err = {0};
    char mime[MF_MIME_MAX];

    (void)state;
    assert_int_equal(mf_classify_new(&c, &err), 0);
    assert_int_equal(mf_classify_buffer(c, fx_png, 8, mime, sizeof(mime), &err), 0);
    assert_string_not_equal(mime, "image/png");
    mf_classify_free(c);
}

typedef struct classify_thread {
    mf_classifier *c;
    int failures;
} classify_thread;

static void *classify_worker(void *arg)
{
    classify_thread *t = arg;
    char mime[MF_MIME_MAX];
    mf_err err = {0};

    for (int i = 0; i < 300; i++) {
        const fixture *f = &fixtures[i % N_FIXTURES];

        if (mf_classify_buffer(t->c, f->buf, f->len, mime, sizeof(mime), &err) != 0 ||
            strcmp(mime, f->mime) != 0)
            t->failures++;
    }
    return NULL;
}

/* Concurrent callers each get their own handle: every answer is right, and the pool never
 * holds more handles than there were callers at once. */
static void test_classify_threads(void **state)
{
    enum { N = 4 };
    pthread_t th[N];
    classify_thread t[N];
    mf_classifier *c = NULL;
    mf_err err = {0};

    (void)state;
    assert_int_equal(mf_classify_new(&c, &err), 0);
    for (int i = 0; i < N; i++) {
        t[i].c = c;
        t[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, classify_worker, &t[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    assert_true(mf_classify_handles(c) >= 1 && mf_classify_handles(c) <= N);
    mf_classify_free(c);
}

/* ---- inspection on real files ------------------------------------------------------------ */

typedef struct tmpdir {
    char path[512];
    int fd;
} tmpdir;

static int tmp_setup(void **state)
{
    tmpdir *t = calloc(1, sizeof(*t));
    const char *base = getenv("MF_TEST_TMP");

    if (t == NULL)
        return -1;
    base = base != NULL ? base : "/tmp";
    mkdir(base, 0755);
    snprintf(t->path, sizeof(t->path), "%s/test_dispatch.XXXXXX", base);
    if (mkdtemp(t->path) == NULL)
        return -1;
    t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = t;
    return t->fd < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static int tmp_teardown(void **state)
{
    tmpdir *t = *state;

    close(t->fd);
    nftw(t->path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

static void write_file(const tmpdir *t, const char *rel, const void *buf, size_t len)
{
    int fd = openat(t->fd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

static void sha256_hex(const void *buf, size_t len, char hex[MF_SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void test_inspect_png_in_profile_folder(void **state)
{
    tmpdir *t = *state;
    mf_config cfg = test_cfg();
    mf_classifier *c = NULL;
    mf_inspect info;
    mf_err err = {0};
    char want[MF_SHA256_HEX_LEN];
    struct stat st;

    assert_int_equal(mkdirat(t->fd, "ocr", 0755), 0);
    write_file(t, "ocr/x.png", fx_png, sizeof(fx_png));
    assert_int_equal(mf_classify_new(&c, &err), 0);
    memset(&info, 0, sizeof(info));
    assert_int_equal(mf_dispatch_inspect(t->fd, "ocr/x.png", &cfg, c, 1, &info, &err), 0);
    sha256_hex(fx_png, sizeof(fx_png), want);
    assert_string_equal(info.sha256, want);
    assert_int_equal(info.size, sizeof(fx_png));
    assert_int_equal(fstatat(t->fd, "ocr/x.png", &st, 0), 0);
    assert_int_equal(info.mtime_ms, st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
    assert_string_equal(info.mime, "image/png");
    /* profile_routes "ocr:image=doc": a page image in the ocr folder is a document to read */
    assert_string_equal(info.lane, "doc");
    assert_string_equal(info.profile, "ocr");

    /* a folder that is not a profile, and a text file: no lane */
    assert_int_equal(mkdirat(t->fd, "notes", 0755), 0);
    write_file(t, "notes/a b\n\xff.txt", fx_text, sizeof(fx_text) - 1);
    assert_int_equal(mf_dispatch_inspect(t->fd, "notes/a b\n\xff.txt", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.mime, "text/plain");
    assert_null(info.lane);
    assert_string_equal(info.profile, "default");
    mf_classify_free(c);
    mf_config_close(&cfg);
}

static void test_inspect_refuses_links_and_specials(void **state)
{
    tmpdir *t = *state;
    mf_config cfg = test_cfg();
    mf_classifier *c = NULL;
    mf_inspect info;
    mf_err err = {0};

    assert_int_equal(mf_classify_new(&c, &err), 0);
    write_file(t, "real.jpg", fx_jpeg, sizeof(fx_jpeg));
    assert_int_equal(symlinkat("/etc/passwd", t->fd, "passwd.jpg"), 0);
    assert_int_equal(symlinkat("real.jpg", t->fd, "inside.jpg"), 0);
    assert_int_equal(mkdirat(t->fd, "dir", 0755), 0);
    assert_int_equal(symlinkat("dir", t->fd, "linkdir"), 0);
    write_file(t, "dir/y.jpg", fx_jpeg, sizeof(fx_jpeg));
    assert_int_equal(mkfifoat(t->fd, "fifo.jpg", 0644), 0);

    assert_int_equal(mf_dispatch_inspect(t->fd, "passwd.jpg", &cfg, c, 1, &info, &err),
                     MF_ESYMLINK);
    /* even a link that stays inside the inbox is not followed */
    assert_int_equal(mf_dispatch_inspect(t->fd, "inside.jpg", &cfg, c, 1, &info, &err),
                     MF_ESYMLINK);
    assert_int_equal(mf_dispatch_inspect(t->fd, "linkdir/y.jpg", &cfg, c, 1, &info, &err),
                     MF_ESYMLINK);
    /* a FIFO is refused without blocking on it */
    assert_int_equal(mf_dispatch_inspect(t->fd, "fifo.jpg", &cfg, c, 1, &info, &err),
                     MF_EUNSUPPORTED);
    assert_string_equal(err.msg, "not a regular file (a FIFO)");
    assert_int_equal(mf_dispatch_inspect(t->fd, "dir", &cfg, c, 1, &info, &err), MF_EUNSUPPORTED);
    assert_int_equal(mf_dispatch_inspect(t->fd, "gone.jpg", &cfg, c, 1, &info, &err), -ENOENT);
    assert_int_equal(mf_dispatch_inspect(t->fd, "dir/y.jpg", &cfg, c, 1, &info, &err), 0);
    mf_classify_free(c);
    mf_config_close(&cfg);
}

/* An empty file and a file over max_input_bytes are refused from their size, before any
 * hashing: a record that says why, no hash (nothing to deduplicate), still a MIME type. */
static void test_inspect_refuses_empty_and_oversize(void **state)
{
    tmpdir *t = *state;
    mf_config cfg = test_cfg();
    mf_classifier *c = NULL;
    mf_inspect info;
    mf_err err = {0};
    int fd;

    assert_int_equal(mf_classify_new(&c, &err), 0);
    write_file(t, "empty.jpg", "", 0);
    memset(&info, 'x', sizeof(info));
    assert_int_equal(mf_dispatch_inspect(t->fd, "empty.jpg", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.refused, "file is empty");
    assert_string_equal(info.sha256, "");
    assert_int_equal(info.size, 0);
    assert_string_equal(info.mime, "application/x-empty");
    assert_null(info.lane);
    assert_string_equal(info.profile, "default");

    /* a sparse 5 GiB file that starts like an MP4: refused at once (hashing it takes ~20 s) */
    write_file(t, "huge.mp4", fx_mp4, sizeof(fx_mp4));
    fd = openat(t->fd, "huge.mp4", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 5LL * 1024 * 1024 * 1024), 0);
    close(fd);
    assert_int_equal(mf_dispatch_inspect(t->fd, "huge.mp4", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.refused, "file is 5.0 GiB, over the 4.0 GiB limit max_input_bytes");
    assert_string_equal(info.sha256, "");
    assert_int_equal(info.size, 5LL * 1024 * 1024 * 1024);
    assert_string_equal(info.mime, "video/mp4");
    assert_string_equal(info.lane, "video");

    /* figures that would round alike are given in bytes; at the limit is accepted */
    assert_int_equal(mf_config_set(&cfg, "max_input_bytes", "40", &err), 0);
    assert_int_equal(mf_dispatch_inspect(t->fd, "empty.jpg", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.refused, "file is empty");
    write_file(t, "small.mp4", fx_mp4, 40);
    assert_int_equal(mf_dispatch_inspect(t->fd, "small.mp4", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.refused, "");
    assert_int_equal(strlen(info.sha256), 64);
    write_file(t, "big.jpg", fx_jpeg, 20);
    assert_int_equal(mf_config_set(&cfg, "max_input_bytes", "19", &err), 0);
    assert_int_equal(mf_dispatch_inspect(t->fd, "big.jpg", &cfg, c, 1, &info, &err), 0);
    assert_string_equal(info.refused, "file is 20 bytes, over the 19 bytes limit max_input_bytes");
    assert_string_equal(info.mime, "image/jpeg");
    mf_classify_free(c);
    mf_config_close(&cfg);
}

/* A file still open for writing is not complete; once closed it is. */
static void test_inspect_waits_for_writers(void **state)
{
    tmpdir *t = *state;
    mf_config cfg = test_cfg();
    mf_classifier *c = NULL;
    mf_inspect info;
    mf_err err = {0};
    int fd;

    signal(SIGIO, SIG_IGN);
    assert_int_equal(mf_classify_new(&c, &err), 0);
    fd = openat(t->fd, "busy.jpg", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, fx_jpeg, 10), 10);
    assert_int_equal(mf_dispatch_inspect(t->fd, "busy.jpg", &cfg, c, 1, &info, &err), MF_EBUSY);
    /* without the check (a close event said it is done) it is read as it is */
    assert_int_equal(mf_dispatch_inspect(t->fd, "busy.jpg", &cfg, c, 0, &info, &err), 0);
    assert_int_equal(info.size, 10);
    assert_int_equal(write(fd, fx_jpeg + 10, sizeof(fx_jpeg) - 10), (ssize_t)sizeof(fx_jpeg) - 10);
    close(fd);
    assert_int_equal(mf_dispatch_inspect(t->fd, "busy.jpg", &cfg, c, 1, &info, &err), 0);
    assert_int_equal(info.size, sizeof(fx_jpeg));
    assert_string_equal(info.mime, "image/jpeg");
    mf_classify_free(c);
    mf_config_close(&cfg);
}

/* ---- hash table -------------------------------------------------------------------------- */

static void test_htab(void **state)
{
    mf__htab t;
    char key[32];
    size_t pos = 0, seen = 0;
    int created;

    (void)state;
    mf__htab_init(&t);
    for (int i = 0; i < 5000; i++) {
        mf__hnode *n;

        snprintf(key, sizeof(key), "dir/%d.jpg", i);
        n = mf__htab_put(&t, key, strlen(key), &created);
        assert_true(created);
        n->value = (void *)(intptr_t)(i + 1);
    }
    assert_int_equal(t.n, 5000);
    assert_non_null(mf__htab_put(&t, "dir/7.jpg", 9, &created));
    assert_false(created);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "dir/%d.jpg", i);
        mf__htab_del(&t, mf__htab_get(&t, key, strlen(key)));
    }
    for (mf__hnode *n = mf__htab_next(&t, &pos, NULL); n != NULL; n = mf__htab_next(&t, &pos, n)) {
        int i = (int)(intptr_t)n->value - 1;

        snprintf(key, sizeof(key), "dir/%d.jpg", i);
        assert_string_equal(n->key, key);
        assert_int_equal(i % 2, 1);
        seen++;
    }
    assert_int_equal(seen, 2500);
    assert_null(mf__htab_get(&t, "dir/0.jpg", 9));
    mf__htab_close(&t, NULL);
}

/* The fast path must give libmagic's own answer whenever it answers: every fixture, every
 * prefix of it (a truncated upload), and a JPEG/PNG head followed by a tar header. */
static void check_fast_matches_libmagic(magic_t m, const unsigned char *buf, size_t len)
{
    const char *fast = mf_classify_fast(buf, len);
    const char *slow;

    if (fast == NULL)
        return;
    slow = magic_buffer(m, len > 0 ? buf : (const void *)"", len);
    assert_non_null(slow);
    if (strcmp(fast, slow) != 0)
        fail_msg("fast path says %s, libmagic %s, for %zu bytes", fast, slow, len);
}

static void test_classify_fast_path_is_libmagic(void **state)
{
    magic_t m = magic_open(MAGIC_MIME_TYPE);
    unsigned char tar[1024];
    int answered = 0;

    assert_non_null(m);
    assert_int_equal(magic_load(m, NULL), 0);
    for (size_t i = 0; i < N_FIXTURES; i++) {
        unsigned char head[1024];

        /* the fixture, then zeros: a head as long as the ones the dispatcher reads */
        memset(head, 0, sizeof(head));
        memcpy(head, fixtures[i].buf, fixtures[i].len);
        for (size_t len = 0; len <= sizeof(head); len++) {
            check_fast_matches_libmagic(m, head, len);
            answered += mf_classify_fast(head, len) != NULL;
        }
    }
    assert_true(answered > 0); /* the fast path does answer for PNG and JPEG */
    memset(tar, 0, sizeof(tar));
    memcpy(tar, fx_jpeg, sizeof(fx_jpeg));
    memcpy(tar + 257, "ustar", 5);
    assert_null(mf_classify_fast(tar, sizeof(tar)));
    magic_close(m);
}

/* 3D models behind generic containers (dispatcher/sniff3d.c): edge cases the fleet test
 * (t_model_sniff.sh, files from assimp's exporters) does not reach. */
static void test_sniff_model(void **state)
{
    unsigned char stl[84 + 50] = "binary header";
    unsigned char tds[16] = {0x4d, 0x4d, 16, 0, 0, 0, 0x02, 0x00, 10, 0, 0, 0, 3, 0, 0, 0};
    const char *obj = "# x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n";
    const char *text = "v is for vendetta\nhello\n";
    /* two zip local headers (their fixed fields as x), the manifest's data as abcd */
    static const char zae[] = "PK\003\004xxxxxxxxxxxxxxxxxxxxxxxxxxmanifest.xmlabcd"
                              "PK\003\004xxxxxxxxxxxxxxxxxxxxxxxxxxbox.dae";
    mf_config cfg;

    (void)state;
    stl[80] = 1; /* one triangle: the size is 84 + 50 exactly */
    assert_string_equal(
        mf_sniff_model("application/octet-stream", stl, sizeof(stl), sizeof(stl), "x.stl"),
        "model/stl");
    /* not the size the count says: a binary STL cut short (or padded) when it is named so,
     * for the lane to fail with the reason; otherwise libmagic's answer stays */
    assert_string_equal(
        mf_sniff_model("application/octet-stream", stl, sizeof(stl), sizeof(stl) + 1, "x.stl"),
        "model/stl");
    assert_null(
        mf_sniff_model("application/octet-stream", stl, sizeof(stl), sizeof(stl) + 1, "x.bin"));
    assert_null(mf_sniff_model("application/octet-stream", stl, sizeof(stl), 2000, NULL));
    /* 3DS: libmagic's image/x-3ds becomes a model; a 3DS-looking head whose chunk length is
     * not the file size stays image/x-3ds, which no lane (the image lane least) takes */
    assert_string_equal(mf_sniff_model("image/x-3ds", tds, sizeof(tds), sizeof(tds), "a.3ds"),
                        "model/x-3ds");
    assert_null(mf_sniff_model("image/x-3ds", tds, sizeof(tds), 999, "a.3ds"));
    /* the default globs of every lane (the registry's) */
    assert_int_equal(mf_config_load(&cfg, NULL, NULL, NULL, NULL), 0);
    assert_null(mf_lanemap_lane("image/x-3ds", (const char *const *)cfg.lane_mime, MF_LANE_COUNT));
    assert_string_equal(
        mf_lanemap_lane("model/x-3ds", (const char *const *)cfg.lane_mime, MF_LANE_COUNT), "model");
    mf_config_close(&cfg);
    assert_string_equal(mf_sniff_model("text/plain", obj, strlen(obj), (int64_t)strlen(obj), NULL),
                        "model/obj");
    assert_null(mf_sniff_model("text/plain", text, strlen(text), (int64_t)strlen(text), NULL));
    /* only containers are looked at: a JPEG stays a JPEG whatever its bytes */
    assert_null(mf_sniff_model("image/jpeg", obj, strlen(obj), (int64_t)strlen(obj), "a.obj"));
    /* zipped COLLADA: a manifest.xml and a .dae (or the .zae name); another zip is left */
    assert_string_equal(mf_sniff_model("application/zip", zae, sizeof(zae) - 1, 4096, NULL),
                        "model/vnd.collada+zip");
    assert_string_equal(mf_sniff_model("application/zip", zae, 46, 4096, "x/box.zae"),
                        "model/vnd.collada+zip");
    assert_null(mf_sniff_model("application/zip", zae, 46, 4096, "x/box.zip"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_files),
        cmocka_unit_test(test_decide_folders),
        cmocka_unit_test(test_decide_queue_events),
        cmocka_unit_test(test_classify_headers),
        cmocka_unit_test(test_sniff_model),
        cmocka_unit_test(test_classify_truncated_png),
        cmocka_unit_test(test_classify_fast_path_is_libmagic),
        cmocka_unit_test(test_classify_threads),
        cmocka_unit_test_setup_teardown(test_inspect_png_in_profile_folder, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_refuses_links_and_specials, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_waits_for_writers, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_refuses_empty_and_oversize, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test(test_htab),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
