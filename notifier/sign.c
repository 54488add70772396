/* Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is base64
 * after "whsec_", the signed content is "<webhook-id>.<webhook-timestamp>.<body>", the
 * signature HMAC-SHA256 in base64 behind a "v1," version tag. OpenSSL does the HMAC and
 * the base64 so that what we send is what every receiver library computes. */
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

int mf_wh_secret_decode(const char *secret, unsigned char key[MF_WH_KEY_MAX], size_t *keylen,
                        mf_err *err)
{
    unsigned char buf[MF_WH_KEY_MAX + 4];
    const char *b64 = secret;
    size_t len, pad = 0;
    int n;

    if (strncmp(b64, "whsec_", 6) == 0)
        b64 += 6;
    len = strlen(b64);
    /* EVP_DecodeBlock() wants whole quanta and writes 3 bytes per 4 characters */
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
        return mf_err_set(err, MF_ECONFIG,
                          "webhook secret is not whsec_ followed by base64 of 1 to %d bytes",
                          MF_WH_KEY_MAX);
    n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return mf_err_set(err, MF_ECONFIG, "webhook secret: EVP_DecodeBlock() failed: not base64");
    while (pad < 2 && len > pad && b64[len - 1 - pad] == '=')
        pad++;
    if ((size_t)n - pad > MF_WH_KEY_MAX || (size_t)n <= pad)
        return mf_err_set(err, MF_ECONFIG, "webhook secret: %d bytes, expected 1 to %d",
                          n - (int)pad, MF_WH_KEY_MAX);
    *keylen = (size_t)n - pad;
    memcpy(key, buf, *keylen);
    return 0;
}

int mf_wh_sign(const unsigned char *key, size_t keylen, const char *msg_id, int64_t timestamp,
               const char *body, size_t body_len, char out[MF_WH_SIG_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t md_len = 0;
    char head[160];
    char digest[] = "SHA256";
    int head_len;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    int rc = 0;

    head_len = snprintf(head, sizeof(head), "%s.%lld.", msg_id, (long long)timestamp);
    if (head_len < 0 || (size_t)head_len >= sizeof(head))
        return MF_EINVAL;
    /* EVP_MAC (OpenSSL 3) streams the three parts without copying the body */
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    params[0] = OSSL_PARAM_construct_utf8_string("digest", digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_MAC_init(ctx, key, keylen, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)head_len) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)body, body_len) != 1 ||
        EVP_MAC_final(ctx, md, &md_len, sizeof(md)) != 1) {
        rc = MF_EINVAL;
        goto out;
    }
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, (int)md_len);
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

void mf_wh_signature_header(const mf_wh_endpoint *ep, const char *msg_id, int64_t timestamp,
                            const char *body, size_t body_len, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (int i = 0; i < ep->nkeys; i++) {
        char sig[MF_WH_SIG_LEN];
        int n;

        if (mf_wh_sign(ep->key[i], ep->keylen[i], msg_id, timestamp, body, body_len, sig) < 0)
            continue;
        n = snprintf(out + used, size - used, "%s%s", used ? " " : "", sig);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}
