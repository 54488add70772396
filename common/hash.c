/* SHA-256 of a whole file, keeping its head for libmagic so the file is read once. */
#include "mf/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MF__HASH_CHUNK (256 * 1024)

static void mf__hex(const unsigned char *md, unsigned md_len, char hex[MF_SHA256_HEX_LEN])
{
    static const char digits[] = "0123456789abcdef";

    for (unsigned i = 0; i < md_len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void mf_hash_bytes(const void *buf, size_t len, char hex[MF_SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL) != 1)
        abort(); /* sha256 is always there; failing here is a broken OpenSSL */
    mf__hex(md, md_len, hex);
}

int mf_hash_fd(int fd, char hex[MF_SHA256_HEX_LEN], unsigned char *head, size_t head_size,
               size_t *head_len, int64_t *total, mf_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    int64_t n_total = 0;
    size_t n_head = 0;
    int rc = 0;

    buf = malloc(MF__HASH_CHUNK);
    ctx = EVP_MD_CTX_new();
    if (buf == NULL || ctx == NULL)
        abort();
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = mf_err_set(err, MF_EINVAL, "EVP_DigestInit_ex() failed: sha256 unavailable");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, MF__HASH_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mf_err_sys(err, -errno, "read()");
            goto out;
        }
        if (n == 0)
            break;
        if (head != NULL && n_head < head_size) {
            size_t take = head_size - n_head < (size_t)n ? head_size - n_head : (size_t)n;
            memcpy(head + n_head, buf, take);
            n_head += take;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        n_total += n;
    }
    EVP_DigestFinal_ex(ctx, md, &md_len);
    mf__hex(md, md_len, hex);
    if (head_len != NULL)
        *head_len = n_head;
    if (total != NULL)
        *total = n_total;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}
