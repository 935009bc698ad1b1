/* model_name.h - what a user types for a model, turned into a GGUF file: a path, a name from
 * the download cache (as `llmr ls` prints it, with or without .gguf, or the file part of a
 * hub name), an alias, ollama's NAME:TAG, a URL or an hf: reference (downloaded on first
 * use), or the default model shipped with llmr. One place for the CLI, the server and the
 * public API (llmr_model_resolve). */
#ifndef LLMR_ROUTER_MODEL_NAME_H
#define LLMR_ROUTER_MODEL_NAME_H

#include "router/fetch.h"

/* The default model's file name and its short name (what `llmr run stories260K` finds). */
#define LLMR_DEFAULT_MODEL_FILE "stories260K.gguf"
#define LLMR_DEFAULT_MODEL_NAME "stories260K"

/* The shipped default model: $LLMR_DEFAULT_MODEL when set, else stories260K.gguf in the first
 * of: models/ above the executable's folder (a build folder inside the source tree),
 * ../share/llmr/models beside it (an installed tree, wherever its prefix), DATADIR/llmr/models,
 * the source tree's models/. LLMR_ERR_NOT_FOUND naming
 * the places looked at when none holds it. */
int llmri_default_model(char *path, size_t n, llmr_err *err);

/* Resolves `name` to a local GGUF path in `path`, in this order:
 *   - http(s) URL or hf:ORG/REPO/FILE: llmri_fetch (downloaded into the cache on first use,
 *     with o's progress bar and cancel flag; o may be NULL);
 *   - ollama:[NS/]NAME[:TAG]: pulled from the ollama registry (rt_ollama_pull);
 *   - an existing file or a name with '/': itself (whatever it holds: opening it reports a
 *     bad file precisely);
 *   - an alias from CACHE/aliases.json ({"ALIAS": "NAME, path or source"}), resolved in turn;
 *   - a cache entry: its file name, without .gguf, the file part of a hub name
 *     (ORG--REPO--FILE), NAME:TAG as NAME-TAG (NAME:latest and NAME are the same), exact
 *     first, then ignoring case when only one entry matches;
 *   - "stories260K" or "default": the default model.
 * An unknown name is LLMR_ERR_NOT_FOUND with one line that lists close matches; a name that
 * matches several entries is LLMR_ERR_ARG listing them. */
int llmri_model_resolve(const char *name, const llmr_fetch_opts *o, char *path, size_t n,
                        llmr_err *err);

/* The aliases file: CACHE/aliases.json. llmri_alias_set stores ALIAS -> TARGET (TARGET NULL:
 * removes ALIAS; LLMR_ERR_NOT_FOUND when it is not there). Aliases are [A-Za-z0-9._:-], at
 * most 128 bytes, and not a URL or path. The file is replaced atomically. */
int llmri_alias_set(const char *cache_dir, const char *alias, const char *target,
                    llmr_err *err);

/* Calls fn for each alias in name order; returns the count (0 for no file). */
size_t llmri_alias_each(const char *cache_dir, void (*fn)(void *user, const char *alias,
                                                          const char *target), void *user);

/* ollama registries. ollama:[NS/]MODEL[:TAG] (NS "library", TAG "latest" by default) is
 * cached as MODEL-TAG.gguf (NS--MODEL-TAG.gguf outside the library), so that `-m MODEL:TAG`
 * finds it. rt_ollama_pull returns that file when it is there (no request), else fetches the
 * manifest from REGISTRY/v2/NS/MODEL/manifests/TAG and the model layer's blob, checked against
 * its sha256, through llmri_fetch (o: progress, cancel; may be NULL). The registry: `registry`
 * when not NULL, else $LLMR_OLLAMA_REGISTRY, else LLMR_OLLAMA_REGISTRY. */
#define LLMR_OLLAMA_REGISTRY "https://registry.ollama.ai"
int rt_ollama_file(const char *name, char *file, size_t n, llmr_err *err);
int rt_ollama_pull(const char *name, const char *registry, const llmr_fetch_opts *o,
                   char *path, size_t n, llmr_err *err);

/* The name `llmr ls` prints for a cache file name: without .gguf. */
void llmri_model_short_name(const char *file, char *out, size_t n);

#endif
