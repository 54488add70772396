/* The model lane's import (modelimport.cpp): assimp's C++ API, because its C API cannot say
 * which importer may read a file. Callable from C. */
#ifndef MF_MODELIMPORT_H
#define MF_MODELIMPORT_H

#include <assimp/cfileio.h>
#include <assimp/scene.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads `name` through io with exactly one importer, the one whose aiImporterDesc.mName is
 * `importer`: every other importer is unregistered from the Assimp::Importer first, so none of
 * them looks at a byte (not even to guess the format from a signature). Then the
 * post-processing `flags`; with aiProcess_JoinIdenticalVertices, identical vertices are first
 * joined by meshoptimizer's vertex remap on every vertex attribute (assimp's step keeps a
 * 272-byte record per vertex: 340 MB more on an unindexed million-triangle OBJ), then
 * assimp's step runs on what is left (a sixth of it there): it joins the meshes with bones or
 * morph targets, whose vertex references the remap does not follow, and marks the scene
 * joined so that the glTF exporter keeps it indexed. Returns the scene, owned by the
 * caller (aiReleaseImport()), or NULL with assimp's reason in why (*no_importer set when this
 * assimp has no importer of that name). Single-threaded: one import at a time per process. */
const struct aiScene *mf_model_import(struct aiFileIO *io, const char *name, const char *importer,
                                      unsigned flags, char *why, size_t why_size, int *no_importer);

/* Keeps only the vertices of m whose remap[i] < unique, vertex i becoming remap[i] (every
 * per-vertex array reallocated at the new size, face indices rewritten). Not for a mesh with
 * bones or morph targets (their vertex references are not followed). */
void mf_model_mesh_remap(struct aiMesh *m, const unsigned *remap, size_t unique);

/* Embeds the image files the materials of s refer to by path (an OBJ's map_Kd, a COLLADA
 * image): each is read through io (the jail: the model's folder only), must be a PNG or JPEG
 * of at most max_bytes whose header declares at most max_pixels, and becomes a compressed
 * aiTexture the material refers to as "*<n>", so that model.glb carries it. A texture that
 * fails any of that is taken out of its material (never a GLB pointing at a file it does not
 * hold). Returns NULL, or the warnings (malloc(), one a line) for the textures left out. */
char *mf_model_embed_textures(struct aiScene *s, struct aiFileIO *io, size_t max_bytes,
                              unsigned long long max_pixels);

#ifdef __cplusplus
}
#endif

#endif
