/* What the dispatcher does with a name: the ignore rules of the user contract and
 * profile selection. Pure functions; thread-safe. */
#ifndef MF_PATHRULE_H
#define MF_PATHRULE_H

#include <stddef.h>

/* 1 if a file with this base name waits until renamed: names starting with '.', or ending
 * in .part .tmp .crdownload or ~. */
int mf_path_ignored(const char *basename);

/* 1 if rel (path relative to the inbox) is acceptable: not empty, not absolute, no "." or
 * ".." component, no component ignored by mf_path_ignored() (a hidden folder hides what is
 * in it), shorter than MF_PATH_MAX. */
int mf_path_acceptable(const char *rel);

/* Profile for rel: its first component if rel has more than one component and that
 * component is one of the space-separated names in profiles; else "default". Writes into
 * buf and returns buf. */
const char *mf_path_profile(const char *rel, const char *profiles, char *buf, size_t size);

#endif
