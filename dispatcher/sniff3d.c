/* 3D models by content. libmagic names most of them by their container: OBJ, ASCII STL, PLY
 * and FBX and OFF are text/plain, binary STL/PLY/FBX application/octet-stream, glTF
 * application/json, 3MF application/zip and 3DS image/x-3ds (which must not reach the image
 * lane) or application/octet-stream. mf_sniff_model() looks at the head of those (and only
 * those) for each format's own structure, with the file name's extension as a hint where
 * the structure alone is weak (a binary STL has no signature: its size is 84 + 50 x the
 * triangle count it declares). A file it does not recognise keeps libmagic's answer. */
#include "mf/dispatch.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* The containers libmagic gives 3D models; any other answer is kept as it is. */
static int mf__container(const char *mime)
{
    static const char *const kinds[] = {"text/plain",       "application/octet-stream",
                                        "application/json", "application/zip",
                                        "image/x-3ds",      "text/xml",
                                        "application/xml"};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(mime, kinds[i]) == 0)
            return 1;
    }
    return 0;
}

static int mf__ext_is(const char *name, const char *ext)
{
    const char *dot = name ? strrchr(name, '.') : NULL;

    return dot != NULL && strchr(dot, '/') == NULL && strcasecmp(dot + 1, ext) == 0;
}

/* Whether needle occurs in the first len bytes of b. */
static int mf__has(const unsigned char *b, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (b[i] == (unsigned char)needle[0] && memcmp(b + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

/* The same, ignoring ASCII case (3MF writers spell 3D/3dmodel.model as they like). */
static int mf__has_ci(const unsigned char *b, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (strncasecmp((const char *)b + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

static uint32_t mf__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The next line of b[*pos, len) without leading blanks: its start and length (without the
 * line end); 0 at the end. */
static int mf__line(const unsigned char *b, size_t len, size_t *pos, const unsigned char **s,
                    size_t *n)
{
    size_t i = *pos, e;

    if (i >= len)
        return 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t'))
        i++;
    for (e = i; e < len && b[e] != '\n' && b[e] != '\r'; e++)
        ;
    *s = b + i;
    *n = e - i;
    while (e < len && (b[e] == '\n' || b[e] == '\r'))
        e++;
    *pos = e;
    return 1;
}

static int mf__word(const unsigned char *s, size_t n, const char *w)
{
    size_t k = strlen(w);

    return n >= k && memcmp(s, w, k) == 0 && (n == k || s[k] == ' ' || s[k] == '\t');
}

/* Wavefront OBJ: every complete line of the head is blank, a comment or an OBJ statement,
 * and there is at least one vertex. */
static int mf__is_obj(const unsigned char *b, size_t len, int complete)
{
    static const char *const kw[] = {"v",    "vt",   "vn",  "vp",     "f",      "l",      "p",
                                     "o",    "g",    "s",   "mtllib", "usemtl", "cstype", "deg",
                                     "curv", "parm", "end", "surf",   "bmat",   "step"};
    size_t pos = 0, n, verts = 0;
    const unsigned char *s;

    while (mf__line(b, len, &pos, &s, &n)) {
        int known = n == 0 || s[0] == '#';

        if (pos >= len && !complete)
            break; /* the head may end inside this line */
        for (size_t k = 0; !known && k < sizeof(kw) / sizeof(kw[0]); k++)
            known = mf__word(s, n, kw[k]);
        if (!known)
            return 0;
        verts += mf__word(s, n, "v");
    }
    return verts > 0;
}

/* OFF: an optional [ST][C][N][4][n]OFF keyword line, comments, then "vertices faces edges". */
static int mf__is_off(const unsigned char *b, size_t len)
{
    size_t pos = 0, n, k;
    const unsigned char *s;

    while (mf__line(b, len, &pos, &s, &n) && (n == 0 || s[0] == '#'))
        ;
    if (n < 3)
        return 0;
    for (k = 0; k < n && strchr("STCN4n", s[k]) != NULL && s[k] != '\0'; k++)
        ;
    if (k + 3 > n || memcmp(s + k, "OFF", 3) != 0)
        return 0;
    k += 3;
    if (k == n) { /* counts on the next non-comment line */
        while (mf__line(b, len, &pos, &s, &n) && (n == 0 || s[0] == '#'))
            ;
        k = 0;
    }
    for (int num = 0; num < 3; num++) {
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k >= n || !isdigit(s[k]))
            return 0;
        while (k < n && isdigit(s[k]))
            k++;
    }
    return 1;
}

/* 3DS: the main chunk 0x4d4d whose length is the file's size, then a version or editor
 * chunk. */
static int mf__is_3ds(const unsigned char *b, size_t len, int64_t size)
{
    uint16_t sub;

    if (len < 12 || b[0] != 0x4d || b[1] != 0x4d)
        return 0;
    if (size > 0 && mf__le32(b + 2) != (uint64_t)size)
        return 0;
    sub = (uint16_t)(b[6] | b[7] << 8);
    return sub == 0x0002 || sub == 0x3d3d || sub == 0xb000;
}

/* glTF JSON: an object with "asset" and "version" in the head, or starting like one in a
 * .gltf file (the asset object may come after the head). */
static int mf__is_gltf(const unsigned char *b, size_t len, const char *name)
{
    size_t i = 0;

    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i >= len || b[i] != '{')
        return 0;
    return (mf__has(b, len, "\"asset\"") && mf__has(b, len, "\"version\"")) ||
           (mf__ext_is(name, "gltf") && mf__has(b, len < 4096 ? len : 4096, "\""));
}

const char *mf_sniff_model(const char *mime, const void *head, size_t len, int64_t size,
                           const char *name)
{
    const unsigned char *b = head;
    int complete = size >= 0 && (uint64_t)size == len;

    if (mime == NULL || b == NULL || !mf__container(mime))
        return NULL;
    if (len >= 12 && memcmp(b, "glTF", 4) == 0 && mf__le32(b + 4) == 2)
        return "model/gltf-binary";
    if (len >= 23 && memcmp(b, "Kaydara FBX Binary  \0", 21) == 0)
        return "model/x-fbx";
    if (len >= 84 && size == 84 + 50 * (int64_t)mf__le32(b + 80) && mf__le32(b + 80) > 0)
        return "model/stl"; /* binary STL: the declared count is the size exactly */
    if (mf__is_3ds(b, len, size))
        return "model/x-3ds";
    if (strcmp(mime, "application/zip") == 0) {
        if (mf__has_ci(b, len, "3D/3dmodel.model"))
            return "model/3mf";
        /* zipped COLLADA (.zae): a manifest.xml naming the .dae, whose name follows the
         * manifest's few compressed bytes (or the upload is called .zae) */
        if (mf__has(b, len, "manifest.xml") &&
            (mf__has_ci(b, len, ".dae") || mf__ext_is(name, "zae")))
            return "model/vnd.collada+zip";
        return NULL;
    }
    if (strcmp(mime, "application/octet-stream") == 0 || strcmp(mime, "image/x-3ds") == 0) {
        if (len >= 10 && memcmp(b, "ply", 3) == 0 && (b[3] == '\n' || b[3] == '\r') &&
            mf__has(b, len < 64 ? len : 64, "format binary_"))
            return "model/x-ply";
        /* named .stl, a triangle count, but not the size it makes: a binary STL cut short (or
         * padded), which the lane fails with what is wrong, where "unsupported" would say
         * nothing of the kind */
        if (len >= 84 && mf__le32(b + 80) > 0 && mf__ext_is(name, "stl"))
            return "model/stl";
        return NULL;
    }
    /* text: JSON (libmagic calls JSON it cannot parse, too deep for it say, text/plain), XML
     * or plain */
    if (mf__is_gltf(b, len, name))
        return "model/gltf+json";
    if (strcmp(mime, "application/json") == 0)
        return NULL;
    if (mf__has(b, len < 4096 ? len : 4096, "<COLLADA"))
        return "model/vnd.collada+xml";
    if (strcmp(mime, "text/plain") != 0)
        return NULL;
    if (len >= 5 && memcmp(b, "ply", 3) == 0 && (b[3] == '\n' || b[3] == '\r') &&
        mf__has(b, len < 64 ? len : 64, "format ascii"))
        return "model/x-ply";
    if (len >= 6 && memcmp(b, "solid", 5) == 0 && (b[5] == ' ' || b[5] == '\n' || b[5] == '\r') &&
        (mf__has(b, len, "facet normal") || mf__has(b, len, "endsolid")))
        return "model/stl";
    if (len >= 6 && memcmp(b, "; FBX ", 6) == 0)
        return "model/x-fbx";
    if (mf__is_off(b, len))
        return "model/x-off";
    if (mf__is_obj(b, len, complete) || (mf__ext_is(name, "obj") && mf__has(b, len, "\nv ")))
        return "model/obj";
    return NULL;
}
