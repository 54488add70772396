/* The jailed aiFileIO (see model.h). assimp opens the files a model refers to by the path
 * written in the model: a .gltf buffer URI "../../../etc/passwd" or an OBJ "mtllib ../../x"
 * would read files outside the inbox with assimp's default file system. This one resolves
 * every name beneath the upload's own folder with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): the kernel refuses "..", absolute paths and
 * links at every step, with no race between a check and the open. data: URIs never come
 * here (the glTF importer decodes them itself). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mf/alloc.h"
#include "mf/log.h"
#include "model.h"

typedef struct mf__mfile {
    struct aiFile f;
    const unsigned char *mem; /* the upload as rewritten in memory (mf_model_io.main_mem) */
    int fd;
    int own; /* close fd at the end (not the runtime's upload fd) */
    size_t pos, size;
} mf__mfile;

static size_t mf__read(struct aiFile *af, char *buf, size_t size, size_t count)
{
    mf__mfile *m = (mf__mfile *)af;
    size_t want, got = 0;

    if (size == 0 || count == 0 || m->pos >= m->size)
        return 0;
    want = size * count;
    if (want / size != count || want > m->size - m->pos)
        want = (m->size - m->pos) / size * size;
    if (m->mem != NULL) {
        memcpy(buf, m->mem + m->pos, want);
        got = want;
    }
    while (got < want) {
        ssize_t n = pread(m->fd, buf + got, want - got, (off_t)(m->pos + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    m->pos += got;
    return got / size;
}

static size_t mf__write(struct aiFile *af, const char *buf, size_t size, size_t count)
{
    (void)af;
    (void)buf;
    (void)size;
    (void)count;
    return 0; /* read-only */
}

static size_t mf__tell(struct aiFile *af)
{
    return ((mf__mfile *)af)->pos;
}

static size_t mf__size(struct aiFile *af)
{
    return ((mf__mfile *)af)->size;
}

static enum aiReturn mf__seek(struct aiFile *af, size_t off, enum aiOrigin origin)
{
    mf__mfile *m = (mf__mfile *)af;
    size_t base = origin == aiOrigin_SET ? 0 : origin == aiOrigin_CUR ? m->pos : m->size;

    if (origin != aiOrigin_SET && origin != aiOrigin_CUR && origin != aiOrigin_END)
        return aiReturn_FAILURE;
    if (off > SIZE_MAX - base || base + off > m->size)
        return aiReturn_FAILURE;
    m->pos = base + off;
    return aiReturn_SUCCESS;
}

static void mf__flush(struct aiFile *af)
{
    (void)af;
}

static void mf__note(char *slot, size_t size, const char *name, const char *why)
{
    if (slot[0] == '\0')
        snprintf(slot, size, "%s (%s)", name, why);
}

static struct aiFile *mf__open(struct aiFileIO *io, const char *name, const char *mode)
{
    mf_model_io *mio = (mf_model_io *)io;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve =
                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    mf__mfile *m = NULL;
    struct stat st;
    int fd = -1, own = 1;

    if (name == NULL || mode == NULL || strchr(mode, 'w') != NULL || strchr(mode, 'a') != NULL ||
        strchr(mode, '+') != NULL)
        goto out;
    if (strcmp(name, mio->main_name) == 0 && mio->main_mem != NULL) {
        m = mf_xcalloc(1, sizeof(*m));
        m->mem = mio->main_mem;
        m->size = mio->main_len;
        m->fd = -1;
        goto made;
    }
    if (strcmp(name, mio->main_name) == 0) {
        fd = mio->mainfd;
        own = 0;
    } else {
        const char *rel = strncmp(name, "./", 2) == 0 ? name + 2 : name;

        fd = (int)syscall(SYS_openat2, mio->dirfd, rel, &how, sizeof(how));
        if (fd < 0) {
            if (errno == ENOENT)
                mf__note(mio->missing, sizeof(mio->missing), name, "not found");
            else
                mf__note(mio->refused, sizeof(mio->refused), name,
                         errno == EXDEV || errno == ELOOP ? "outside the model's folder or a link"
                                                          : strerror(errno));
            mf_log(MF_LOG_DEBUG, "file=\"%s\" errno=%d msg=\"model reference not opened\"", name,
                   errno);
            goto out;
        }
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        mf__note(mio->refused, sizeof(mio->refused), name, "not a regular file");
        goto out;
    }
    m = mf_xcalloc(1, sizeof(*m));
    m->fd = fd;
    m->own = own;
    m->size = (size_t)st.st_size;
    fd = -1;
made:
    m->f.ReadProc = mf__read;
    m->f.WriteProc = mf__write;
    m->f.TellProc = mf__tell;
    m->f.FileSizeProc = mf__size;
    m->f.SeekProc = mf__seek;
    m->f.FlushProc = mf__flush;
out:
    if (fd >= 0 && own)
        close(fd);
    return m ? &m->f : NULL;
}

static void mf__close(struct aiFileIO *io, struct aiFile *af)
{
    mf__mfile *m = (mf__mfile *)af;

    (void)io;
    if (m == NULL)
        return;
    if (m->own)
        close(m->fd);
    free(m);
}

int mf_model_io_init(mf_model_io *mio, const char *path, int fd, const char *ext, mf_err *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    int rc = 0;

    memset(mio, 0, sizeof(*mio));
    mio->dirfd = -1;
    mio->mainfd = fd;
    snprintf(mio->main_name, sizeof(mio->main_name), "mf-upload.%s", ext);
    if (n == 0 || n >= sizeof(dir)) {
        rc = mf_err_set(err, MF_EINVAL, "bad upload path %s", path);
        goto out;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    mio->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (mio->dirfd < 0) {
        rc = mf_err_sys(err, -errno, "open() of the model's folder");
        goto out;
    }
    mio->io.OpenProc = mf__open;
    mio->io.CloseProc = mf__close;
out:
    return rc;
}

void mf_model_io_close(mf_model_io *mio)
{
    if (mio != NULL && mio->dirfd >= 0)
        close(mio->dirfd);
    if (mio != NULL)
        mio->dirfd = -1;
}
