/* fuzz_gguf.c - libFuzzer target for the GGUF reader: any byte string must give a clean
 * parse or a clean error, never a crash, a hang or a sanitizer report. */
#include "gguf/gguf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static int fuzz_one(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    llmr_err err = {0};
    if (gguf_open_mem(data, size, "fuzz", &f, &err) != LLMR_OK)
        return 0;
    /* Touch everything the reader hands out, as a consumer would. */
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        sink += strlen(f->kv[i].key.ptr);
        const gguf_value *v = &f->kv[i].val;
        if (v->type == GGUF_STRING)
            sink += v->str.len ? (uint8_t)v->str.ptr[v->str.len - 1] : 0;
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->nbytes)
            sink += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        sink += gguf_find_tensor(f, t->name.ptr) == t;
    }
    (void)sink;
    gguf_close(f);
    return 0;
}

#include "worker_stack.h"
