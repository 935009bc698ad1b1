/* worker_stack.h - runs a fuzz input on a thread with the stack a civetweb worker has left when
 * a server request is parsed, so that unbounded recursion on hostile input
 * crashes here as it would in the server. An 800-deep JSON array crashed the server on that
 * stack while the fuzzers, on the main thread's 8 MiB, saw nothing.
 *
 * fuzz_request and fuzz_gguf use it (a model load through the API runs on a worker too).
 * Usage: name the real target `static int fuzz_one(const uint8_t *data, size_t size)` and
 * include this file after it; it defines LLVMFuzzerTestOneInput. */
#ifndef LLMR_FUZZ_WORKER_STACK_H
#define LLMR_FUZZ_WORKER_STACK_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* What a request handler has left when it parses a body: civetweb 1.15 (as Debian builds it)
 * gives each worker 100 KiB, and civetweb's frames plus the handler's use about 28 KiB before
 * the parse (both measured with pthread_getattr_np in a handler). */
#define FUZZ_WORKER_STACK (64 * 1024)

typedef struct {
    const uint8_t *data;
    size_t size;
} fuzz_input;

static void *fuzz_worker(void *p)
{
    fuzz_input *in = p;
    fuzz_one(in->data, in->size);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    pthread_attr_t a;
    pthread_t t;
    if (pthread_attr_init(&a) || pthread_attr_setstacksize(&a, FUZZ_WORKER_STACK) ||
        pthread_create(&t, &a, fuzz_worker, &in))
        abort();
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    return 0;
}

#endif
