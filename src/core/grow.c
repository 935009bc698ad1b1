/* grow.c - overflow-checked array growth (see grow.h). */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { GROW_MIN = 4 };

size_t llmri_grow_cap(size_t cap, size_t need, size_t elem)
{
    if (elem == 0 || need > SIZE_MAX / elem)
        return 0;
    size_t nc = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (nc < need)
        nc = need;
    if (nc < GROW_MIN)
        nc = GROW_MIN;
    if (nc > SIZE_MAX / elem)   /* doubling went too far: settle for what is needed */
        nc = need;
    return nc;
}

bool llmri_grow(void *pv, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = llmri_grow_cap(*cap, need, elem);
    if (!nc)
        return false;
    void *old;
    memcpy(&old, pv, sizeof old);   /* pv is a T **: object pointers share one representation */
    void *p = realloc(old, nc * elem);
    if (!p)
        return false;
    memcpy(pv, &p, sizeof p);
    *cap = nc;
    return true;
}
