/* The thumbnail: the scene drawn with OpenGL ES 2 into an offscreen framebuffer on an EGL
 * context with no window and no display (EGL_MESA_platform_surfaceless: Mesa's llvmpipe
 * renders on the CPU where there is no GPU; EGL picks a GPU where there is one).
 *
 * Why the context is made here, on first use: mf-exec-model is exec'd by the worker's fork,
 * and llvmpipe's threads do not survive a fork(); a context made before one would be dead in
 * the child. Made once per executor (25-50 ms) and kept for its jobs.
 *
 * The model is flattened to world space (node transforms applied), turned so that its up
 * axis is +Y, centred on its bounding box and framed by the box's bounding sphere from above
 * and in front; shaded with a head light and a fill light, vertex colours when present, the
 * material's diffuse colour otherwise, times the material's diffuse (base colour) texture
 * where it has one. Textures are those mf_model_embed_textures() left in the scene (PNG or
 * JPEG within the limits, embedded as "*<n>"), decoded once per material per render and
 * scaled to at most MF__TEX_MAX px a side, a power of two (GL_REPEAT in OpenGL ES 2 needs one),
 * before upload; one that does not decode is a warning and its meshes are drawn untextured. */
#include <EGL/egl.h>
#include <assimp/cimport.h>
#include <assimp/material.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>
#include "mf/alloc.h"
#include "mf/fsutil.h"
#include "model.h"

static EGLDisplay mf__dpy = EGL_NO_DISPLAY;
static EGLContext mf__ctx = EGL_NO_CONTEXT;

static int mf__egl_init(mf_err *err)
{
    static const EGLint cfg_attr[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE,
                                      EGL_OPENGL_ES2_BIT, EGL_NONE};
    static const EGLint ctx_attr[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display;
    const char *ext;
    EGLConfig cfg;
    EGLint n = 0;
    int rc = 0;

    if (mf__ctx != EGL_NO_CONTEXT)
        goto out;
    get_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    if (get_display != NULL)
        mf__dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    if (mf__dpy == EGL_NO_DISPLAY) {
        rc = mf_err_set(err, MF_ECONFIG, "eglGetPlatformDisplayEXT(surfaceless) failed: 0x%x",
                        eglGetError());
        goto out;
    }
    if (!eglInitialize(mf__dpy, NULL, NULL) || !eglBindAPI(EGL_OPENGL_ES_API) ||
        !eglChooseConfig(mf__dpy, cfg_attr, &cfg, 1, &n) || n < 1) {
        rc = mf_err_set(err, MF_ECONFIG, "eglInitialize()/eglChooseConfig() failed: 0x%x",
                        eglGetError());
        goto out;
    }
    mf__ctx = eglCreateContext(mf__dpy, cfg, EGL_NO_CONTEXT, ctx_attr);
    if (mf__ctx == EGL_NO_CONTEXT ||
        !eglMakeCurrent(mf__dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, mf__ctx)) {
        rc = mf_err_set(err, MF_ECONFIG, "eglCreateContext()/eglMakeCurrent() failed: 0x%x",
                        eglGetError());
        goto out;
    }
    /* 32-bit indices (a mesh over 65,536 vertices) and face normals from derivatives: both
     * in every Mesa driver, llvmpipe included */
    ext = (const char *)glGetString(GL_EXTENSIONS);
    if (ext == NULL || strstr(ext, "GL_OES_element_index_uint") == NULL ||
        strstr(ext, "GL_OES_standard_derivatives") == NULL) {
        rc = mf_err_set(err, MF_ECONFIG,
                        "OpenGL ES 2 lacks GL_OES_element_index_uint or "
                        "GL_OES_standard_derivatives (renderer %s)",
                        (const char *)glGetString(GL_RENDERER));
        eglMakeCurrent(mf__dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        eglDestroyContext(mf__dpy, mf__ctx);
        mf__ctx = EGL_NO_CONTEXT; /* the next job asks again, and fails alike */
        goto out;
    }
out:
    return rc;
}

void mf_model_render_close(void)
{
    /* Only released, not terminated: eglTerminate() unloads Mesa's driver, whose own
     * allocations then show as leaks of an unknown module under LeakSanitizer; the process
     * exits right after the lane's shutdown anyway. */
    if (mf__dpy != EGL_NO_DISPLAY)
        eglMakeCurrent(mf__dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
}

/* The scene flattened to one indexed triangle list in world space, 28 bytes a vertex (a
 * million-triangle model is 14 MB of vertices and 12 MB of indices, here and in the GL
 * buffers, instead of 108 MB twice as unshared float triangles), in ranges of one material
 * each (drawn with its texture). A normal of zero means
 * "none" (STL, OFF): the fragment shader then takes the face's normal from the screen-space
 * derivatives of the position, which is what per-face normals gave. */
typedef struct mf__vtx {
    float p[3];
    float t[2];         /* texture coordinates (channel 0), v up as assimp gives them */
    signed char n[4];   /* normalised GL_BYTE */
    unsigned char c[4]; /* normalised GL_UNSIGNED_BYTE */
} mf__vtx;

typedef struct mf__range {
    unsigned mat;
    size_t first, count;
} mf__range;

typedef struct mf__geom {
    mf__vtx *v;
    unsigned *idx;
    mf__range *r;
    const GLuint *tex; /* per material, 0 for none */
    size_t nv, ni, nr, cap_v, cap_i, cap_r;
} mf__geom;

#define MF__TEX_MAX 1024

static unsigned char mf__u8(float x)
{
    return (unsigned char)(x <= 0 || !isfinite(x) ? 0 : x >= 1 ? 255 : x * 255 + 0.5f);
}

static void mf__mesh(const struct aiScene *s, const struct aiMesh *m, const struct aiMatrix4x4 *w,
                     mf__geom *g)
{
    struct aiColor4D diffuse = {0.72f, 0.74f, 0.78f, 1};
    struct aiMatrix3x3 nm;
    size_t base = g->nv, first = g->ni;
    int textured = m->mMaterialIndex < s->mNumMaterials && g->tex[m->mMaterialIndex] != 0 &&
                   m->mTextureCoords[0] != NULL;

    if (m->mMaterialIndex < s->mNumMaterials)
        aiGetMaterialColor(s->mMaterials[m->mMaterialIndex], "$clr.diffuse", 0, 0, &diffuse);
    /* black (how assimp's 3MF and some exporters leave an unset colour) shows no shape; under
     * a texture it shows the texture as it is */
    if (diffuse.r < 0.02f && diffuse.g < 0.02f && diffuse.b < 0.02f)
        diffuse =
            textured ? (struct aiColor4D){1, 1, 1, 1} : (struct aiColor4D){0.72f, 0.74f, 0.78f, 1};
    aiMatrix3FromMatrix4(&nm, w);
    for (unsigned i = 0; i < m->mNumVertices && g->nv < g->cap_v; i++) {
        mf__vtx *v = &g->v[g->nv++];
        struct aiVector3D p = m->mVertices[i];
        const struct aiColor4D *c = m->mColors[0] != NULL ? &m->mColors[0][i] : &diffuse;

        aiTransformVecByMatrix4(&p, w);
        v->p[0] = p.x;
        v->p[1] = p.y;
        v->p[2] = p.z;
        v->t[0] = v->t[1] = 0;
        if (m->mTextureCoords[0] != NULL && isfinite(m->mTextureCoords[0][i].x) &&
            isfinite(m->mTextureCoords[0][i].y)) {
            v->t[0] = m->mTextureCoords[0][i].x;
            v->t[1] = m->mTextureCoords[0][i].y;
        }
        memset(v->n, 0, sizeof(v->n));
        if (m->mNormals != NULL) {
            struct aiVector3D n = m->mNormals[i];
            float len;

            aiTransformVecByMatrix3(&n, &nm);
            len = sqrtf(n.x * n.x + n.y * n.y + n.z * n.z);
            if (len > 0 && isfinite(len)) {
                v->n[0] = (signed char)lrintf(n.x / len * 127);
                v->n[1] = (signed char)lrintf(n.y / len * 127);
                v->n[2] = (signed char)lrintf(n.z / len * 127);
            }
        }
        v->c[0] = mf__u8(c->r);
        v->c[1] = mf__u8(c->g);
        v->c[2] = mf__u8(c->b);
        v->c[3] = 255;
    }
    for (unsigned f = 0; f < m->mNumFaces && g->ni + 3 <= g->cap_i; f++) {
        const struct aiFace *face = &m->mFaces[f];

        if (face->mNumIndices != 3 || face->mIndices[0] >= m->mNumVertices ||
            face->mIndices[1] >= m->mNumVertices || face->mIndices[2] >= m->mNumVertices)
            continue;
        for (int k = 0; k < 3; k++)
            g->idx[g->ni++] = (unsigned)(base + face->mIndices[k]);
    }
    if (g->ni > first && g->nr < g->cap_r) {
        unsigned mat = textured ? m->mMaterialIndex : UINT32_MAX; /* UINT32_MAX: untextured */

        if (g->nr > 0 && g->r[g->nr - 1].mat == mat &&
            g->r[g->nr - 1].first + g->r[g->nr - 1].count == first)
            g->r[g->nr - 1].count += g->ni - first;
        else
            g->r[g->nr++] = (mf__range){mat, first, g->ni - first};
    }
}

/* Walks the node tree: with g->v NULL it only counts (vertices and indices of every mesh
 * instance), else it fills. */
static void mf__flatten(const struct aiScene *s, const struct aiNode *node, struct aiMatrix4x4 w,
                        mf__geom *g, int depth)
{
    if (node == NULL || depth > 1000)
        return;
    aiMultiplyMatrix4(&w, &node->mTransformation);
    for (unsigned i = 0; i < node->mNumMeshes; i++) {
        const struct aiMesh *m;

        if (node->mMeshes[i] >= s->mNumMeshes)
            continue;
        m = s->mMeshes[node->mMeshes[i]];
        if (g->v == NULL) {
            g->cap_v += m->mNumVertices;
            g->cap_i += (size_t)m->mNumFaces * 3;
            g->cap_r++;
        } else {
            mf__mesh(s, m, &w, g);
        }
    }
    for (unsigned i = 0; i < node->mNumChildren; i++)
        mf__flatten(s, node->mChildren[i], w, g, depth + 1);
}

static const char mf__vs[] =
    "uniform mat4 mvp; uniform mat3 rot;\n"
    "attribute vec3 pos; attribute vec3 nrm; attribute vec3 col; attribute vec2 uv;\n"
    "varying vec3 vn; varying vec3 vc; varying vec3 vp; varying vec2 vt;\n"
    "void main() {\n"
    "  vn = rot * nrm; vc = col; vp = rot * pos; vt = vec2(uv.x, 1.0 - uv.y);\n"
    "  gl_Position = mvp * vec4(pos, 1.0);\n"
    "}\n";
static const char mf__fs[] = "#extension GL_OES_standard_derivatives : enable\n"
                             "precision highp float;\n"
                             "uniform sampler2D tex; uniform float use_tex;\n"
                             "varying vec3 vn; varying vec3 vc; varying vec3 vp; varying vec2 vt;\n"
                             "void main() {\n"
                             "  vec3 fn = cross(dFdx(vp), dFdy(vp));\n"
                             "  vec3 n = length(vn) > 0.0 ? normalize(vn)\n"
                             "         : length(fn) > 0.0 ? normalize(fn) : vec3(0.0, 0.0, 1.0);\n"
                             "  float d = abs(dot(n, normalize(vec3(0.3, 0.5, 1.0))));\n"
                             "  float f = abs(dot(n, normalize(vec3(-0.6, 0.2, -0.4))));\n"
                             "  vec3 t = use_tex > 0.5 ? texture2D(tex, vt).rgb : vec3(1.0);\n"
                             "  gl_FragColor = vec4(vc * t * (0.25 + 0.65 * d + 0.2 * f), 1.0);\n"
                             "}\n";

static GLuint mf__shader(GLenum type, const char *src)
{
    GLuint sh = glCreateShader(type);
    GLint ok = 0;

    glShaderSource(sh, 1, &src, NULL);
    glCompileShader(sh);
    glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
    return ok ? sh : 0;
}

/* Column-major 4x4 multiply r = a * b. */
static void mf__mul(float r[16], const float a[16], const float b[16])
{
    float t[16];

    for (int c = 0; c < 4; c++) {
        for (int rr = 0; rr < 4; rr++) {
            t[c * 4 + rr] = 0;
            for (int k = 0; k < 4; k++)
                t[c * 4 + rr] += a[k * 4 + rr] * b[c * 4 + k];
        }
    }
    memcpy(r, t, sizeof(t));
}

/* The camera: model turned up (z_up: -90 deg about X), centred, seen from yaw 35 deg and
 * pitch 25 deg at a distance that fits the bounding sphere in a 35 deg field of view. */
static void mf__camera(const mf_model_box *box, int z_up, float yaw, float mvp[16], float rot3[9])
{
    const float pitch = 0.44f, fov = 0.61f;
    float cx = (float)(box->max[0] + box->min[0]) / 2, cy = (float)(box->max[1] + box->min[1]) / 2,
          cz = (float)(box->max[2] + box->min[2]) / 2;
    float dx = (float)(box->max[0] - box->min[0]), dy = (float)(box->max[1] - box->min[1]),
          dz = (float)(box->max[2] - box->min[2]);
    float radius = sqrtf(dx * dx + dy * dy + dz * dz) / 2, dist, nearp, farp, f;
    float centre[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, -cx, -cy, -cz, 1};
    float up[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    float ry[16] = {cosf(yaw),  0, sinf(yaw), 0, 0, 1, 0, 0,
                    -sinf(yaw), 0, cosf(yaw), 0, 0, 0, 0, 1};
    float rx[16] = {1, 0, 0, 0, 0, cosf(pitch), sinf(pitch), 0, 0, -sinf(pitch), cosf(pitch),
                    0, 0, 0, 0, 1};
    float view[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, proj[16], model[16];

    if (radius <= 0 || !isfinite(radius))
        radius = 1;
    if (z_up) { /* (x, y, z) -> (x, z, -y) */
        up[5] = 0;
        up[6] = -1;
        up[9] = 1;
        up[10] = 0;
    }
    dist = radius / sinf(fov / 2) * 1.05f;
    nearp = dist - radius * 1.5f > dist * 0.01f ? dist - radius * 1.5f : dist * 0.01f;
    farp = dist + radius * 1.5f;
    view[14] = -dist;
    f = 1.0f / tanf(fov / 2);
    memset(proj, 0, sizeof(proj));
    proj[0] = f;
    proj[5] = f;
    proj[10] = (farp + nearp) / (nearp - farp);
    proj[11] = -1;
    proj[14] = 2 * farp * nearp / (nearp - farp);
    mf__mul(model, up, centre);
    mf__mul(model, ry, model);
    mf__mul(model, rx, model);
    for (int c = 0; c < 3; c++) {
        for (int r = 0; r < 3; r++)
            rot3[c * 3 + r] = model[c * 4 + r];
    }
    mf__mul(mvp, view, model);
    mf__mul(mvp, proj, mvp);
}

/* Draws the triangles of the bound buffers (the ranges of indices, each with its material's
 * texture) into a size x size RGBA buffer (rows bottom first, as OpenGL reads them). */
static int mf__draw(const mf__range *r, size_t nr, const GLuint *tex, const mf_model_box *box,
                    int z_up, float yaw, int size, unsigned char *rgba, mf_err *err)
{
    GLuint fbo = 0, rb[2] = {0, 0}, prog = 0, vs, fs;
    float mvp[16], rot3[9];
    GLint ok = 0;
    int rc = 0;

    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glGenRenderbuffers(2, rb);
    glBindRenderbuffer(GL_RENDERBUFFER, rb[0]);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8_OES, size, size);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb[0]);
    glBindRenderbuffer(GL_RENDERBUFFER, rb[1]);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH_COMPONENT16, size, size);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, rb[1]);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
        rc = mf_err_set(err, MF_ECONFIG, "glCheckFramebufferStatus() failed");
        goto out;
    }
    vs = mf__shader(GL_VERTEX_SHADER, mf__vs);
    fs = mf__shader(GL_FRAGMENT_SHADER, mf__fs);
    prog = glCreateProgram();
    glAttachShader(prog, vs);
    glAttachShader(prog, fs);
    glBindAttribLocation(prog, 0, "pos");
    glBindAttribLocation(prog, 1, "nrm");
    glBindAttribLocation(prog, 2, "col");
    glBindAttribLocation(prog, 3, "uv");
    glLinkProgram(prog);
    glDeleteShader(vs);
    glDeleteShader(fs);
    glGetProgramiv(prog, GL_LINK_STATUS, &ok);
    if (!ok) {
        rc = mf_err_set(err, MF_ECONFIG, "glLinkProgram() failed");
        goto out;
    }
    glUseProgram(prog);
    mf__camera(box, z_up, yaw, mvp, rot3);
    glUniformMatrix4fv(glGetUniformLocation(prog, "mvp"), 1, GL_FALSE, mvp);
    glUniformMatrix3fv(glGetUniformLocation(prog, "rot"), 1, GL_FALSE, rot3);
    glUniform1i(glGetUniformLocation(prog, "tex"), 0);
    glActiveTexture(GL_TEXTURE0);
    glViewport(0, 0, size, size);
    glClearColor(0.96f, 0.96f, 0.96f, 1);
    glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
    glEnable(GL_DEPTH_TEST);
    for (size_t i = 0; i < nr; i++) {
        GLuint t = r[i].mat != UINT32_MAX ? tex[r[i].mat] : 0;

        glBindTexture(GL_TEXTURE_2D, t);
        glUniform1f(glGetUniformLocation(prog, "use_tex"), t != 0 ? 1.0f : 0.0f);
        glDrawElements(GL_TRIANGLES, (GLsizei)r[i].count, GL_UNSIGNED_INT,
                       (const void *)(r[i].first * sizeof(unsigned)));
    }
    glBindTexture(GL_TEXTURE_2D, 0);
    glReadPixels(0, 0, size, size, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    if (glGetError() != GL_NO_ERROR)
        rc = mf_err_set(err, MF_ECONFIG, "OpenGL ES rendering failed");
out:
    if (prog)
        glDeleteProgram(prog);
    glDeleteRenderbuffers(2, rb);
    glDeleteFramebuffers(1, &fbo);
    return rc;
}

/* The largest power of two at most n and MF__TEX_MAX. */
static int mf__pow2(int n)
{
    int p = 1;

    while (p * 2 <= n && p * 2 <= MF__TEX_MAX)
        p *= 2;
    return p;
}

/* The material's diffuse (or base colour) texture as a GL texture object, 0 when it has none
 * or it does not decode (why then says so, and names it). The scene holds it embedded as
 * "*<n>", a PNG or JPEG within the limits (mf_model_embed_textures). */
static GLuint mf__texture(const struct aiScene *s, const struct aiMaterial *mat, char *why,
                          size_t why_len)
{
    const struct aiTexture *t;
    struct aiString path;
    VipsImage *hdr = NULL, *th = NULL, *srgb = NULL, *rgb = NULL, *u8 = NULL;
    void *px = NULL;
    size_t px_len = 0;
    unsigned long n;
    char *end;
    int w, h;
    GLuint id = 0;

    if (aiGetMaterialTexture(mat, aiTextureType_DIFFUSE, 0, &path, NULL, NULL, NULL, NULL, NULL,
                             NULL) != aiReturn_SUCCESS &&
        aiGetMaterialTexture(mat, aiTextureType_BASE_COLOR, 0, &path, NULL, NULL, NULL, NULL, NULL,
                             NULL) != aiReturn_SUCCESS)
        return 0;
    if (path.data[0] != '*')
        return 0; /* a file the lane left out (warned already) */
    n = strtoul(path.data + 1, &end, 10);
    if (end == path.data + 1 || *end != '\0' || n >= s->mNumTextures || s->mTextures[n] == NULL ||
        s->mTextures[n]->mHeight != 0)
        return 0;
    t = s->mTextures[n];
    hdr = vips_image_new_from_buffer(t->pcData, t->mWidth, "", NULL); /* the header only */
    if (hdr == NULL)
        goto fail;
    w = mf__pow2(vips_image_get_width(hdr));
    h = mf__pow2(vips_image_get_height(hdr));
    /* shrunk while it decodes (JPEG), to a power of two a side for GL_REPEAT */
    if (vips_thumbnail_buffer(t->pcData, t->mWidth, &th, w, "height", h, "size", VIPS_SIZE_FORCE,
                              NULL) != 0 ||
        vips_colourspace(th, &srgb, VIPS_INTERPRETATION_sRGB, NULL) != 0 ||
        vips_extract_band(srgb, &rgb, 0, "n", 3, NULL) != 0 ||
        vips_cast_uchar(rgb, &u8, NULL) != 0 || vips_image_get_width(u8) != w ||
        vips_image_get_height(u8) != h || (px = vips_image_write_to_memory(u8, &px_len)) == NULL ||
        px_len != (size_t)w * h * 3)
        goto fail;
    glGenTextures(1, &id);
    glBindTexture(GL_TEXTURE_2D, id);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGB, w, h, 0, GL_RGB, GL_UNSIGNED_BYTE, px);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR); /* no mipmaps */
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_REPEAT);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_REPEAT);
    glBindTexture(GL_TEXTURE_2D, 0);
    if (glGetError() != GL_NO_ERROR) {
        glDeleteTextures(1, &id);
        id = 0;
        snprintf(why, why_len, "texture %.200s not drawn: OpenGL ES refused it",
                 t->mFilename.length > 0 ? t->mFilename.data : path.data);
    }
    goto out;
fail:
    snprintf(why, why_len, "texture %.200s not drawn: %.250s",
             t->mFilename.length > 0 ? t->mFilename.data : path.data,
             vips_error_buffer()[0] != '\0' ? vips_error_buffer() : "it does not decode");
    vips_error_clear();
    /* one line */
    for (char *c = why; *c != '\0'; c++)
        *c = *c == '\n' ? ' ' : *c;
out:
    g_free(px);
    VIPS_UNREF(u8);
    VIPS_UNREF(rgb);
    VIPS_UNREF(srgb);
    VIPS_UNREF(th);
    VIPS_UNREF(hdr);
    return id;
}

/* A GL texture per material (0 for none), once each; a texture that does not decode is a
 * warning in the JSON array warnings (when not NULL). */
static GLuint *mf__textures(const struct aiScene *s, json_t *warnings)
{
    GLuint *tex = mf_xcalloc(s->mNumMaterials + 1, sizeof(*tex));

    for (unsigned i = 0; i < s->mNumMaterials; i++) {
        char why[512] = "";

        tex[i] = mf__texture(s, s->mMaterials[i], why, sizeof(why));
        if (why[0] != '\0' && json_is_array(warnings))
            json_array_append_new(warnings, json_string(why));
    }
    return tex;
}

/* The scene into one vertex and one index buffer object (bound); the copies in our memory go
 * at once. Returns the ranges of indices to draw (*nr of them, 0 when nothing is drawable). */
static mf__range *mf__upload(const struct aiScene *s, const GLuint *tex, GLuint bo[2], size_t *nr)
{
    static const struct {
        GLint n;
        GLenum type;
        size_t off;
    } attr[] = {{3, GL_FLOAT, offsetof(mf__vtx, p)},
                {3, GL_BYTE, offsetof(mf__vtx, n)},
                {3, GL_UNSIGNED_BYTE, offsetof(mf__vtx, c)},
                {2, GL_FLOAT, offsetof(mf__vtx, t)}};
    mf__geom g = {.tex = tex};
    struct aiMatrix4x4 id;

    *nr = 0;
    aiIdentityMatrix4(&id);
    mf__flatten(s, s->mRootNode, id, &g, 0); /* count */
    if (g.cap_v == 0 || g.cap_i == 0)
        return NULL;
    g.v = mf_xmalloc(g.cap_v * sizeof(*g.v));
    g.idx = mf_xmalloc(g.cap_i * sizeof(*g.idx));
    g.r = mf_xmalloc(g.cap_r * sizeof(*g.r));
    mf__flatten(s, s->mRootNode, id, &g, 0); /* fill */
    glGenBuffers(2, bo);
    glBindBuffer(GL_ARRAY_BUFFER, bo[0]);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(g.nv * sizeof(*g.v)), g.v, GL_STATIC_DRAW);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, bo[1]);
    glBufferData(GL_ELEMENT_ARRAY_BUFFER, (GLsizeiptr)(g.ni * sizeof(*g.idx)), g.idx,
                 GL_STATIC_DRAW);
    for (GLuint a = 0; a < 4; a++) {
        glEnableVertexAttribArray(a);
        glVertexAttribPointer(a, attr[a].n, attr[a].type, attr[a].type != GL_FLOAT, sizeof(mf__vtx),
                              (const void *)attr[a].off);
    }
    free(g.v);
    free(g.idx);
    *nr = g.nr;
    return g.r;
}

/* Draws `frames` views turning about the up axis (the first at the thumbnail's angle), each
 * size x size, into one RGBA strip of frames x size rows, top first. Textures that do not
 * decode are warnings in the JSON array warnings (when not NULL). */
static int mf__render(const struct aiScene *s, const mf_model_box *box, int z_up, int size,
                      int frames, unsigned char *strip, json_t *warnings, mf_err *err)
{
    const size_t frame_bytes = (size_t)size * size * 4, row = (size_t)size * 4;
    unsigned char *rgba = mf_xmalloc(frame_bytes);
    GLuint bo[2] = {0, 0}, *tex = NULL;
    mf__range *r = NULL;
    size_t nr = 0;
    int rc;

    rc = mf__egl_init(err);
    if (rc < 0)
        goto out;
    tex = mf__textures(s, warnings);
    r = mf__upload(s, tex, bo, &nr);
    for (int i = 0; rc == 0 && i < frames; i++) {
        unsigned char *dst = strip + (size_t)i * frame_bytes;

        rc = mf__draw(r, nr, tex, box, z_up, 0.61f + 6.2831853f * (float)i / (float)frames, size,
                      rgba, err);
        /* OpenGL's rows start at the bottom */
        for (int y = 0; rc == 0 && y < size; y++)
            memcpy(dst + (size_t)y * row, rgba + (size_t)(size - 1 - y) * row, row);
    }
out:
    if (bo[0] != 0)
        glDeleteBuffers(2, bo);
    for (unsigned i = 0; tex != NULL && i < s->mNumMaterials; i++) {
        if (tex[i] != 0)
            glDeleteTextures(1, &tex[i]);
    }
    free(tex);
    free(r);
    free(rgba);
    return rc;
}

int mf_model_render_png(const struct aiScene *s, const mf_model_box *box, int z_up, int size,
                        const char *outdir, const char *name, json_t *warnings, mf_err *err)
{
    unsigned char *rgba = mf_xmalloc((size_t)size * size * 4);
    VipsImage *img = NULL;
    void *png = NULL;
    size_t png_len = 0;
    int rc;

    rc = mf__render(s, box, z_up, size, 1, rgba, warnings, err);
    if (rc < 0)
        goto out;
    img =
        vips_image_new_from_memory(rgba, (size_t)size * size * 4, size, size, 4, VIPS_FORMAT_UCHAR);
    if (img == NULL || vips_pngsave_buffer(img, &png, &png_len, "compression", 6, NULL) != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "vips_pngsave_buffer() failed: %s", vips_error_buffer());
        vips_error_clear();
        goto out;
    }
    rc = mf_fs_write_atomic(outdir, name, png, png_len, err);
out:
    g_free(png);
    if (img != NULL)
        g_object_unref(img);
    free(rgba);
    return rc;
}

int mf_model_render_turntable(const struct aiScene *s, const mf_model_box *box, int z_up, int size,
                              int frames, int animated, const char *outdir, const char *name,
                              mf_err *err)
{
    size_t bytes = (size_t)size * size * 4 * (size_t)frames;
    unsigned char *strip = mf_xmalloc(bytes);
    VipsImage *img = NULL, *out_img = NULL;
    void *webp = NULL;
    size_t webp_len = 0;
    int *delays = NULL, rc;

    rc = mf__render(s, box, z_up, size, frames, strip, NULL, err);
    if (rc < 0)
        goto out;
    img = vips_image_new_from_memory(strip, bytes, size, size * frames, 4, VIPS_FORMAT_UCHAR);
    if (img == NULL || vips_copy(img, &out_img, NULL) != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "vips_copy() failed: %s", vips_error_buffer());
        vips_error_clear();
        goto out;
    }
    if (animated) {
        /* one page per frame: an animated WebP, 12 frames a second */
        delays = mf_xmalloc((size_t)frames * sizeof(*delays));
        for (int i = 0; i < frames; i++)
            delays[i] = 83;
        vips_image_set_int(out_img, "page-height", size);
        vips_image_set_array_int(out_img, "delay", delays, frames);
        vips_image_set_int(out_img, "loop", 0);
    }
    if (vips_webpsave_buffer(out_img, &webp, &webp_len, "Q", 75, "effort", 1, NULL) != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "vips_webpsave_buffer() failed: %s", vips_error_buffer());
        vips_error_clear();
        goto out;
    }
    rc = mf_fs_write_atomic(outdir, name, webp, webp_len, err);
out:
    g_free(webp);
    free(delays);
    if (out_img != NULL)
        g_object_unref(out_img);
    if (img != NULL)
        g_object_unref(img);
    free(strip);
    return rc;
}
