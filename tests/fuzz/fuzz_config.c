/* libFuzzer harness for configuration parsing (common/config.c): any bytes as an INI file,
 * and the same bytes cut at newlines as command-line flags, must load or be refused with
 * MF_ECONFIG and a message; never crash, leak or read out of bounds. What loads must survive
 * its own dump: the configuration --check-config prints reads back to the same
 * configuration (the example config file is made the same way). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "mf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An in-memory file holding buf, and its path; the caller closes *fd. */
static void mf__memfile(const void *buf, size_t len, int *fd, char *path, size_t size)
{
    *fd = memfd_create("fuzz-config", MFD_CLOEXEC);
    MF_FUZZ_CHECK(*fd >= 0);
    MF_FUZZ_CHECK(len == 0 || write(*fd, buf, len) == (ssize_t)len);
    snprintf(path, size, "/proc/self/fd/%d", *fd);
}

/* The dump of cfg (heap, free()). */
static char *mf__dump(const mf_config *cfg, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    MF_FUZZ_CHECK(f != NULL);
    mf_config_dump(cfg, f, 0);
    fclose(f);
    return text;
}

/* INI: load, dump, load the dump, dump again: the two dumps are the same text. Lines of the
 * dump longer than inih's line buffer (INI_MAX_LINE, 200) would be cut on reading: inputs
 * that make one are only checked for loading. */
static void mf__check_ini(const uint8_t *data, size_t size)
{
    char path[64], path2[64];
    mf_config cfg, cfg2;
    mf_err err = {0};
    char *dump = NULL, *dump2 = NULL;
    size_t len = 0, len2 = 0;
    int fd = -1, fd2 = -1;
    int rc;

    mf__memfile(data, size, &fd, path, sizeof(path));
    rc = mf_config_load(&cfg, path, NULL, NULL, &err);
    MF_FUZZ_CHECK(rc == 0 || (rc == MF_ECONFIG && err.msg[0] != '\0'));
    if (rc == 0) {
        int short_lines = 1;

        dump = mf__dump(&cfg, &len);
        for (char *p = dump, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
            short_lines &= nl - p < 190;
        if (short_lines) {
            mf__memfile(dump, len, &fd2, path2, sizeof(path2));
            MF_FUZZ_CHECK(mf_config_load(&cfg2, path2, NULL, NULL, &err) == 0);
            dump2 = mf__dump(&cfg2, &len2);
            MF_FUZZ_CHECK(len == len2 && memcmp(dump, dump2, len) == 0);
            mf_config_close(&cfg2);
        }
    }
    mf_config_close(&cfg);
    free(dump);
    free(dump2);
    close(fd);
    if (fd2 >= 0)
        close(fd2);
}

/* Flags: every line an argument after argv[0]. Recognised settings are taken out, the rest
 * is left in order; nothing is invented or duplicated. */
static void mf__check_flags(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *argv[66], *orig[66];
    int argc = 1, n0;
    mf_config cfg;
    mf_err err = {0};
    int rc, k = 1;

    MF_FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    argv[0] = "fuzz";
    for (char *p = text; argc < 65;) {
        char *nl = strchr(p, '\n');

        argv[argc++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    argv[argc] = NULL;
    n0 = argc;
    memcpy(orig, argv, sizeof(argv));
    /* an explicit INI file, so no --config in the input makes us read some other file */
    rc = mf_config_load(&cfg, "/dev/null", &argc, argv, &err);
    MF_FUZZ_CHECK(rc == 0 || (rc == MF_ECONFIG && err.msg[0] != '\0'));
    if (rc == 0) {
        MF_FUZZ_CHECK(argc >= 1 && argc <= n0 && argv[argc] == NULL);
        MF_FUZZ_CHECK(argv[0] == orig[0]);
        for (int i = 1; i < argc; i++) { /* a subsequence of the original arguments */
            while (k < n0 && orig[k] != argv[i])
                k++;
            MF_FUZZ_CHECK(k < n0);
            k++;
        }
    }
    mf_config_close(&cfg);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    mf__check_ini(data, size);
    mf__check_flags(data, size);
    return 0;
}
