/* One importer per file, and a lean vertex join (see modelimport.h).
 *
 * Why C++: assimp's C API (aiImportFileEx) picks the importer by the file name's extension,
 * and when two importers claim it (.gltf and .glb: glTF 1.0 and glTF 2.0) it asks each in turn
 * to read the file's head; when none does, every importer of the library (about 50, most of
 * them never fuzzed) tries its signature test on the bytes. The C++ Assimp::Importer can
 * unregister loaders, so the one we mean is the only one there is.
 *
 * Why our own join: assimp's JoinIdenticalVertices builds an Assimp::Vertex (every attribute
 * slot, 272 bytes) per unique vertex and reserves one per input vertex: on an unindexed
 * million-triangle OBJ that is the import's peak, 340 MB over the rest. meshoptimizer's remap
 * hashes the attribute streams in place (a 4-byte remap entry per vertex and a hash table). */
#include "modelimport.h"

#include <assimp/BaseImporter.h>
#include <assimp/IOStream.hpp>
#include <assimp/IOSystem.hpp>
#include <assimp/Importer.hpp>
#include <assimp/importerdesc.h>
#include <assimp/postprocess.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <meshoptimizer.h>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace
{

/* An IOStream over one aiFile of the jailed aiFileIO (modelio.c). */
class JailStream : public Assimp::IOStream
{
  public:
    JailStream(aiFileIO *io, aiFile *f) : io_(io), f_(f)
    {
    }
    ~JailStream() override
    {
        io_->CloseProc(io_, f_);
    }
    size_t Read(void *buf, size_t size, size_t count) override
    {
        return f_->ReadProc(f_, static_cast<char *>(buf), size, count);
    }
    size_t Write(const void *, size_t, size_t) override
    {
        return 0;
    }
    aiReturn Seek(size_t off, aiOrigin origin) override
    {
        return f_->SeekProc(f_, off, origin);
    }
    size_t Tell() const override
    {
        return f_->TellProc(f_);
    }
    size_t FileSize() const override
    {
        return f_->FileSizeProc(f_);
    }
    void Flush() override
    {
    }

  private:
    aiFileIO *io_;
    aiFile *f_;
};

/* The jailed aiFileIO as an Assimp::IOSystem (what aiImportFileEx wraps it in). */
class JailSystem : public Assimp::IOSystem
{
  public:
    explicit JailSystem(aiFileIO *io) : io_(io)
    {
    }
    using Assimp::IOSystem::Exists;
    using Assimp::IOSystem::Open;
    bool Exists(const char *file) const override
    {
        aiFile *f = io_->OpenProc(io_, file, "rb");

        if (f == nullptr)
            return false;
        io_->CloseProc(io_, f);
        return true;
    }
    char getOsSeparator() const override
    {
        return '/';
    }
    Assimp::IOStream *Open(const char *file, const char *mode) override
    {
        aiFile *f = io_->OpenProc(io_, file, mode);

        return f != nullptr ? new JailStream(io_, f) : nullptr;
    }
    void Close(Assimp::IOStream *s) override
    {
        delete s;
    }

  private:
    aiFileIO *io_;
};

/* Moves a[i] to a[remap[i]] in a new array of `unique` elements (the scene frees its arrays
 * with delete[]); a vertex whose remap is ~0u goes. */
template <typename T> void compact(T *&a, const unsigned *remap, size_t n, size_t unique)
{
    T *out;

    if (a == nullptr)
        return;
    out = new T[unique];
    for (size_t i = 0; i < n; i++) {
        if (remap[i] < unique)
            out[remap[i]] = a[i];
    }
    delete[] a;
    a = out;
}

template <typename T> void stream(std::vector<meshopt_Stream> &s, const T *a)
{
    if (a != nullptr)
        s.push_back(meshopt_Stream{a, sizeof(T), sizeof(T)});
}

/* Joins the vertices of m whose every attribute is bit-identical; not those of a mesh with
 * bones or morph targets (left to assimp's JoinIdenticalVertices). */
void join_mesh(aiMesh *m)
{
    std::vector<meshopt_Stream> s;
    std::vector<unsigned> remap, ident;
    size_t n = m->mNumVertices, unique;

    if (m->mNumBones > 0 || m->mNumAnimMeshes > 0 || n == 0 || m->mVertices == nullptr)
        return;
    stream(s, m->mVertices);
    stream(s, m->mNormals);
    stream(s, m->mTangents);
    stream(s, m->mBitangents);
    for (unsigned k = 0; k < AI_MAX_NUMBER_OF_TEXTURECOORDS; k++)
        stream(s, m->mTextureCoords[k]);
    for (unsigned k = 0; k < AI_MAX_NUMBER_OF_COLOR_SETS; k++)
        stream(s, m->mColors[k]);
    /* every vertex in order (meshoptimizer wants whole triangles: the tail repeats vertex 0),
     * so unused vertices keep a place and each new index is the order of first sight */
    ident.resize((n + 2) / 3 * 3, 0);
    for (size_t i = 0; i < n; i++)
        ident[i] = static_cast<unsigned>(i);
    remap.resize(n);
    unique = meshopt_generateVertexRemapMulti(remap.data(), ident.data(), ident.size(), n, s.data(),
                                              s.size());
    ident.clear();
    ident.shrink_to_fit();
    if (unique == n)
        return;
    mf_model_mesh_remap(m, remap.data(), unique);
}

/* Leaves `name` the only importer of imp; false when there is none of that name. */
bool only_importer(Assimp::Importer &imp, const char *name)
{
    bool found = false;

    for (size_t i = imp.GetImporterCount(); i-- > 0;) {
        Assimp::BaseImporter *b = imp.GetImporter(i);
        const aiImporterDesc *d = b != nullptr ? b->GetInfo() : nullptr;

        if (d != nullptr && !found && std::strcmp(d->mName, name) == 0) {
            found = true;
            continue;
        }
        /* UnregisterLoader hands the loader back to us */
        if (b != nullptr && imp.UnregisterLoader(b) == aiReturn_SUCCESS)
            delete b;
    }
    return found && imp.GetImporterCount() == 1;
}

} // namespace

extern "C" void mf_model_mesh_remap(aiMesh *m, const unsigned *remap, size_t unique)
{
    size_t n = m->mNumVertices;

    compact(m->mVertices, remap, n, unique);
    compact(m->mNormals, remap, n, unique);
    compact(m->mTangents, remap, n, unique);
    compact(m->mBitangents, remap, n, unique);
    for (unsigned k = 0; k < AI_MAX_NUMBER_OF_TEXTURECOORDS; k++)
        compact(m->mTextureCoords[k], remap, n, unique);
    for (unsigned k = 0; k < AI_MAX_NUMBER_OF_COLOR_SETS; k++)
        compact(m->mColors[k], remap, n, unique);
    for (unsigned f = 0; f < m->mNumFaces; f++) {
        aiFace &face = m->mFaces[f];

        for (unsigned k = 0; k < face.mNumIndices; k++) {
            unsigned i = face.mIndices[k];

            face.mIndices[k] = i < n && remap[i] < unique ? remap[i] : 0;
        }
    }
    m->mNumVertices = static_cast<unsigned>(unique);
}

extern "C" const aiScene *mf_model_import(aiFileIO *io, const char *name, const char *importer,
                                          unsigned flags, char *why, size_t why_size,
                                          int *no_importer)
{
    aiScene *scene = nullptr;

    *no_importer = 0;
    why[0] = '\0';
    try {
        Assimp::Importer imp;
        const aiScene *s;

        if (!only_importer(imp, importer)) {
            *no_importer = 1;
            std::snprintf(why, why_size, "this assimp has no importer named %s", importer);
            return nullptr;
        }
        imp.SetIOHandler(new JailSystem(io)); /* the Importer owns and deletes it */
        s = imp.ReadFile(name, flags & ~aiProcess_JoinIdenticalVertices);
        if (s == nullptr) {
            std::snprintf(why, why_size, "%s", imp.GetErrorString());
            return nullptr;
        }
        for (unsigned i = 0; (flags & aiProcess_JoinIdenticalVertices) && i < s->mNumMeshes; i++)
            join_mesh(s->mMeshes[i]);
        /* assimp's own join still runs, now on joined vertices (a sixth of an unindexed
         * mesh's): for the meshes with bones or morph targets, and because it marks the scene
         * as joined, which the glTF exporter would otherwise redo on its copy of the scene */
        if ((flags & aiProcess_JoinIdenticalVertices) &&
            imp.ApplyPostProcessing(aiProcess_JoinIdenticalVertices) == nullptr) {
            std::snprintf(why, why_size, "%s", imp.GetErrorString());
            return nullptr;
        }
        /* the scene outlives the Importer (and its loaders' memory): aiReleaseImport() deletes
         * a scene no Importer claims */
        scene = imp.GetOrphanedScene();
    } catch (const std::bad_alloc &) {
        std::abort(); /* allocation failure aborts (STYLE.md); the executor's cap is the limit */
    }
    return scene;
}

namespace
{

/* Width and height from a PNG or JPEG header (bounded reads of buf); false for anything else
 * or a header that ends early. */
bool image_size(const unsigned char *b, size_t n, unsigned *w, unsigned *h, const char **hint)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    if (n >= 24 && std::memcmp(b, png, 8) == 0 && std::memcmp(b + 12, "IHDR", 4) == 0) {
        *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
        *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
        *hint = "png";
        return true;
    }
    if (n < 4 || b[0] != 0xff || b[1] != 0xd8)
        return false;
    for (size_t i = 2; i + 9 < n;) {
        unsigned m, len;

        if (b[i] != 0xff)
            return false;
        m = b[i + 1];
        if (m == 0xff) { /* fill byte */
            i++;
            continue;
        }
        len = (unsigned)b[i + 2] << 8 | b[i + 3];
        /* SOF0..SOF15, not DHT (C4), JPG (C8) or DAC (CC) */
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
            *h = (unsigned)b[i + 5] << 8 | b[i + 6];
            *w = (unsigned)b[i + 7] << 8 | b[i + 8];
            *hint = "jpg";
            return true;
        }
        if (len < 2)
            return false;
        i += 2 + len;
    }
    return false;
}

/* The whole file `name` through the jail, at most max bytes: 1, 0 when it cannot be opened,
 * -1 when larger. */
int read_file(aiFileIO *io, const char *name, size_t max, std::vector<unsigned char> &out)
{
    aiFile *f = io->OpenProc(io, name, "rb");
    size_t size;
    int rc = 1;

    if (f == nullptr)
        return 0;
    size = f->FileSizeProc(f);
    if (size > max) {
        rc = -1;
    } else {
        out.resize(size);
        if (size > 0 && f->ReadProc(f, reinterpret_cast<char *>(out.data()), 1, size) != size)
            rc = 0;
    }
    io->CloseProc(io, f);
    return rc;
}

/* What is wrong with the embedded texture "*<n>" for a GLB, "" when nothing: it must be a
 * PNG or JPEG (compressed, as the file held it) within the limits, declared in its header. */
std::string embedded_problem(const aiScene *s, const std::string &ref, size_t max_bytes,
                             unsigned long long max_pixels)
{
    char *end = nullptr;
    unsigned long n = std::strtoul(ref.c_str() + 1, &end, 10);
    const aiTexture *t;
    unsigned w = 0, h = 0;
    const char *hint = nullptr;

    if (end == ref.c_str() + 1 || *end != '\0' || n >= s->mNumTextures ||
        s->mTextures[n] == nullptr)
        return "no such texture in the file";
    t = s->mTextures[n];
    if (t->mHeight != 0)
        return "raw pixels, not a PNG or JPEG";
    if (t->mWidth > max_bytes)
        return "over " + std::to_string(max_bytes >> 20) + " MB";
    if (!image_size(reinterpret_cast<const unsigned char *>(t->pcData), t->mWidth, &w, &h, &hint))
        return "not a PNG or JPEG";
    if (w == 0 || h == 0 || (unsigned long long)w * h > max_pixels)
        return std::to_string(w) + "x" + std::to_string(h) + " pixels, over the limit of " +
               std::to_string(max_pixels);
    return "";
}

void note(std::string &warnings, const std::string &w)
{
    /* once, though several slots (diffuse, base colour) name the same texture */
    if (("\n" + warnings + "\n").find("\n" + w + "\n") != std::string::npos)
        return;
    if (!warnings.empty())
        warnings += '\n';
    warnings += w;
}

} // namespace

extern "C" char *mf_model_embed_textures(aiScene *s, aiFileIO *io, size_t max_bytes,
                                         unsigned long long max_pixels)
{
    std::vector<std::pair<std::string, unsigned>> done; /* path -> index in mTextures */
    std::vector<aiTexture *> added;
    std::string warnings;

    try {
        for (unsigned mi = 0; mi < s->mNumMaterials; mi++) {
            aiMaterial *mat = s->mMaterials[mi];

            for (int t = aiTextureType_NONE; t <= AI_TEXTURE_TYPE_MAX; t++) {
                aiTextureType type = static_cast<aiTextureType>(t);

                for (unsigned i = mat->GetTextureCount(type); i-- > 0;) {
                    aiString path;
                    std::string p, why;
                    std::vector<unsigned char> data;
                    unsigned w = 0, h = 0, index = 0;
                    const char *hint = nullptr;
                    bool found = false;
                    int got;

                    if (mat->Get(AI_MATKEY_TEXTURE(type, i), path) != aiReturn_SUCCESS)
                        continue;
                    p = path.C_Str();
                    if (p.empty())
                        continue;
                    if (p[0] == '*') { /* embedded in the file: checked alike */
                        why = embedded_problem(s, p, max_bytes, max_pixels);
                        if (!why.empty()) {
                            mat->RemoveProperty(AI_MATKEY_TEXTURE(type, i));
                            note(warnings, "embedded texture " + p + " left out: " + why);
                        }
                        continue;
                    }
                    for (const auto &d : done) {
                        if (d.first == p) {
                            found = true;
                            index = d.second;
                        }
                    }
                    if (!found) {
                        got = read_file(io, p.c_str(), max_bytes, data);
                        if (got == 0)
                            why = "not found in the model's folder, or refused";
                        else if (got < 0)
                            why = "over " + std::to_string(max_bytes >> 20) + " MB";
                        else if (!image_size(data.data(), data.size(), &w, &h, &hint))
                            why = "not a PNG or JPEG";
                        else if (w == 0 || h == 0 || (unsigned long long)w * h > max_pixels)
                            why = std::to_string(w) + "x" + std::to_string(h) +
                                  " pixels, over the limit of " + std::to_string(max_pixels);
                        if (!why.empty()) {
                            /* no reference the GLB could not resolve: the texture goes */
                            mat->RemoveProperty(AI_MATKEY_TEXTURE(type, i));
                            note(warnings, "texture " + p + " left out: " + why);
                            continue;
                        }
                        aiTexture *tex = new aiTexture;

                        tex->mWidth = static_cast<unsigned>(data.size());
                        tex->mHeight = 0; /* compressed, mWidth bytes */
                        tex->pcData =
                            new aiTexel[(data.size() + sizeof(aiTexel) - 1) / sizeof(aiTexel)];
                        std::memcpy(tex->pcData, data.data(), data.size());
                        std::snprintf(tex->achFormatHint, sizeof(tex->achFormatHint), "%s", hint);
                        tex->mFilename = aiString(p);
                        index = s->mNumTextures + static_cast<unsigned>(added.size());
                        added.push_back(tex);
                        done.emplace_back(p, index);
                    }
                    aiString ref(std::string("*") + std::to_string(index));
                    mat->AddProperty(&ref, AI_MATKEY_TEXTURE(type, i));
                }
            }
        }
        if (!added.empty()) {
            aiTexture **all = new aiTexture *[s->mNumTextures + added.size()];

            for (unsigned k = 0; k < s->mNumTextures; k++)
                all[k] = s->mTextures[k];
            for (size_t k = 0; k < added.size(); k++)
                all[s->mNumTextures + k] = added[k];
            delete[] s->mTextures;
            s->mTextures = all;
            s->mNumTextures += static_cast<unsigned>(added.size());
        }
    } catch (const std::bad_alloc &) {
        std::abort();
    }
    return warnings.empty() ? nullptr : strdup(warnings.c_str());
}
