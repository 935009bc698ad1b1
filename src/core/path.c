/* path.c - confinement of client-named paths to folders (see path.h). */
#include "core/path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- paths ------------------------------------------------------------------------------ */

bool llmri_path_inside(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return p[0] == '/';
    return !strncmp(p, dir, n) && (p[n] == '/' || p[n] == 0);
}

static bool inside_any(const char *p, char *const *dirs, size_t n_dirs)
{
    for (size_t i = 0; i < n_dirs; i++)
        if (llmri_path_inside(p, dirs[i]))
            return true;
    return false;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")); s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
            return true;
    return false;
}

/* Where candidate path c leads: 1 inside (real path in out), 0 missing but inside, -1
 * outside or unknowable (a dangling symlink, a folder that cannot be searched). A missing
 * file counts as inside when its folder resolves inside, or, when its folder does not
 * resolve at all, when c is inside by its spelling; so nothing but "inside" depends on what
 * exists outside the dirs. */
static int locate(const char *c, char *const *dirs, size_t n_dirs, char out[PATH_MAX])
{
    if (realpath(c, out))
        return inside_any(out, dirs, n_dirs) ? 1 : -1;
    struct stat st;
    if ((errno != ENOENT && errno != ENOTDIR) || lstat(c, &st) == 0)
        return -1;
    char parent[PATH_MAX], real[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", c);
    char *sl = strrchr(parent, '/');
    if (!sl)
        return -1;
    if (sl == parent)
        sl[1] = 0;
    else
        *sl = 0;
    if (realpath(parent, real))
        return inside_any(real, dirs, n_dirs) ? 0 : -1;
    if (errno != ENOENT && errno != ENOTDIR)
        return -1;
    return inside_any(c, dirs, n_dirs) ? 0 : -1;
}

int llmri_path_confine(const char *path, char *const *dirs, size_t n_dirs, char *out, size_t n,
                    llmr_err *err)
{
    if (has_dotdot(path))
        return llmri_err_set(err, LLMR_ERR_ARG, "'%.200s': a model path may not contain '..'",
                            path);
    bool relative = path[0] != '/';
    char c[PATH_MAX], real[PATH_MAX];
    int where = -1;
    for (size_t i = 0; i < (relative ? n_dirs : 1) && where != 1; i++) {
        int k = relative ? snprintf(c, sizeof c, "%s/%s", dirs[i], path)
                         : snprintf(c, sizeof c, "%s", path);
        if (k < 0 || (size_t)k >= sizeof c)
            return llmri_err_set(err, LLMR_ERR_ARG, "'%.200s': the path is too long", path);
        int w = locate(c, dirs, n_dirs, real);
        /* a relative name is looked for in every folder; one that escapes is refused even
         * when a later folder has the file */
        if (w < 0 || w > where)
            where = w;
        if (w < 0)
            break;
    }
    if (where < 0)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%.200s' is not inside the folders this "
                            "server loads models from (model_dirs)", path);
    if (where == 0)
        return llmri_err_set(err, LLMR_ERR_NOT_FOUND, "'%.200s': no such file in the model "
                            "folders (model_dirs)", path);
    if (snprintf(out, n, "%s", real) >= (int)n)
        return llmri_err_set(err, LLMR_ERR_ARG, "'%.200s': the path is too long", path);
    return LLMR_OK;
}
