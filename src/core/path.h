/* path.h - confinement of client-named paths: a path a client names (a model to load) may
 * point anywhere on the disk, or through a symlink out of the folder meant; these resolve it
 * with realpath(3) and keep it inside folders the operator named. */
#ifndef LLMR_CORE_PATH_H
#define LLMR_CORE_PATH_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether the real path p is dir or lies inside it (dir a real path too). */
bool llmri_path_inside(const char *p, const char *dir);

/* Resolves a client's path with realpath(3) (every symlink followed) and writes the result
 * to out (n bytes) when it lies inside one of dirs (real paths). A relative path is looked up
 * in each dir in turn. Results: LLMR_OK; LLMR_ERR_ARG for a ".." component or a path that
 * resolves (or would resolve) outside every dir - the same message whether or not something
 * exists there, so a client learns nothing about files outside; LLMR_ERR_NOT_FOUND for a path
 * inside a dir that does not exist. Any thread. */
int llmri_path_confine(const char *path, char *const *dirs, size_t n_dirs, char *out, size_t n,
                    llmr_err *err);

#endif
