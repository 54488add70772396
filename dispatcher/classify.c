/* libmagic behind a pool of handles.
 *
 * A magic_t is not thread-safe, and classification is the most expensive CPU step of the
 * dispatcher after hashing (measured on 5.44: 17 us for a PNG, 25 us for a JPEG, 110 us for
 * an MP4, 0.3-0.5 ms for anything the database does not know, 2-5 ms for long text). One
 * handle behind a mutex would cap classification at one core; a handle per call would pay
 * magic_load() (0.2-5 ms) every time. So the classifier keeps a free list: a caller pops a
 * handle (or loads a new one when the list is empty) and pushes it back. The list only ever
 * grows to the number of threads classifying at once (the libuv pool, 4 by default), and the
 * mutex is held for a pointer swap, never during magic_buffer().
 *
 * MAGIC_PARAM_ENCODING_MAX: libmagic's text-encoding pass callocs 4 bytes per byte examined
 * and scans them; at its default (the whole 64 KiB head) that alone cost 35 us per JPEG.
 * 16 KiB keeps the MIME type identical on 2999 of 3000 sampled files (the one difference:
 * a text file whose first 16 KiB look like another kind of text) and halves the time.
 *
 * Even so libmagic is more than half of the dispatcher's CPU per photo: it runs its
 * pre-checks and walks its rules for a PNG or JPEG whose answer the first bytes decide. So
 * mf_classify_fast() answers those two itself, as libmagic 5.44 does: image/png for the
 * 8-byte signature followed by the IHDR chunk header (the signature alone is
 * application/octet-stream to libmagic), image/jpeg for SOI + a marker. What the
 * fast path leaves to libmagic: heads shorter than MF__FAST_MIN (libmagic calls "\xff\xd8"
 * alone text/plain), an animated PNG (acTL right after IHDR), and anything with "ustar" at
 * 257 (libmagic's tar check runs before its rules). bench/magic.sh compares both answers on
 * every PNG and JPEG of the system, files made by vips, ffmpeg and ImageMagick with varied
 * options, truncated heads of each, and non-image files. */
#include "mf/dispatch.h"

#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf/alloc.h"

#define MF__MAGIC_FLAGS MAGIC_MIME_TYPE
#define MF__MAGIC_ENCODING_MAX ((size_t)16 * 1024)
#define MF__FAST_MIN 64 /* bytes of head below which libmagic decides */

struct mf_classifier {
    pthread_mutex_t mu;
    magic_t *free_list; /* handles not in use */
    size_t n_free;
    size_t cap;
    size_t n_loaded;
};

static int mf__magic_open(magic_t *out, mf_err *err)
{
    size_t enc_max = MF__MAGIC_ENCODING_MAX;
    magic_t m = magic_open(MF__MAGIC_FLAGS);
    int rc = 0;

    if (m == NULL) {
        rc = mf_err_set(err, MF_ECONFIG, "magic_open() failed: out of memory");
        goto out;
    }
    if (magic_load(m, NULL) != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "magic_load() failed: %s",
                        magic_error(m) ? magic_error(m) : "no magic database");
        goto out;
    }
    /* an older libmagic without the parameter still classifies correctly, only slower */
    (void)magic_setparam(m, MAGIC_PARAM_ENCODING_MAX, &enc_max);
out:
    if (rc < 0 && m != NULL) {
        magic_close(m);
        m = NULL;
    }
    *out = m;
    return rc;
}

static void mf__pool_push(mf_classifier *c, magic_t m)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_free == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->free_list = mf_xrealloc(c->free_list, c->cap * sizeof(*c->free_list));
    }
    c->free_list[c->n_free++] = m;
    pthread_mutex_unlock(&c->mu);
}

static magic_t mf__pool_pop(mf_classifier *c)
{
    magic_t m = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->n_free > 0)
        m = c->free_list[--c->n_free];
    pthread_mutex_unlock(&c->mu);
    return m;
}

int mf_classify_new(mf_classifier **out, mf_err *err)
{
    mf_classifier *c = mf_xcalloc(1, sizeof(*c));
    magic_t m = NULL;
    int rc;

    pthread_mutex_init(&c->mu, NULL);
    *out = NULL;
    rc = mf__magic_open(&m, err);
    if (rc < 0)
        goto out;
    c->n_loaded = 1;
    mf__pool_push(c, m);
    *out = c;
out:
    if (rc < 0)
        mf_classify_free(c);
    return rc;
}

void mf_classify_free(mf_classifier *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_free; i++)
        magic_close(c->free_list[i]);
    free(c->free_list);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

size_t mf_classify_handles(mf_classifier *c)
{
    size_t n;

    pthread_mutex_lock(&c->mu);
    n = c->n_loaded;
    pthread_mutex_unlock(&c->mu);
    return n;
}

const char *mf_classify_fast(const void *buf, size_t len)
{
    static const unsigned char png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                          0,    0,   0,   13,  'I',  'H',  'D',  'R'};
    const unsigned char *b = buf;

    if (len < MF__FAST_MIN || (len >= 262 && memcmp(b + 257, "ustar", 5) == 0))
        return NULL;
    if (memcmp(b, png, sizeof(png)) == 0 && memcmp(b + 37, "acTL", 4) != 0)
        return "image/png";
    if (b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "image/jpeg";
    return NULL;
}

int mf_classify_buffer(mf_classifier *c, const void *buf, size_t len, char *mime, size_t size,
                       mf_err *err)
{
    const char *fast = mf_classify_fast(buf, len);
    magic_t m = NULL;
    const char *type;
    int rc = 0;

    if (fast != NULL) {
        snprintf(mime, size, "%s", fast);
        goto out;
    }
    m = mf__pool_pop(c);
    if (m == NULL) {
        rc = mf__magic_open(&m, err);
        if (rc < 0)
            goto out;
        pthread_mutex_lock(&c->mu);
        c->n_loaded++;
        pthread_mutex_unlock(&c->mu);
    }
    /* libmagic reads nothing for len 0 but wants a valid pointer */
    type = magic_buffer(m, len > 0 ? buf : "", len);
    if (type == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "magic_buffer() failed: %s",
                        magic_error(m) ? magic_error(m) : "unknown error");
        goto out;
    }
    snprintf(mime, size, "%s", type);
out:
    if (m != NULL)
        mf__pool_push(c, m);
    return rc;
}
