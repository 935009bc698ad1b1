/* test_containers.c - the small containers of src/core that every layer shares: the growth
 * helper (doubling, overflow refused rather than wrapped), the string builder (limits, sticky
 * failure, printf of any length, reading files and pipes), the binary heap (pops in order,
 * ties included) and the arena (alignment, zeroing, limits, growing arrays). */
#include "test_util.h"

#include <errno.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/grow.h"
#include "core/heap.h"

/* ---- growth ------------------------------------------------------------------------------ */

static void grow_doubles_and_reaches_what_is_needed(void **state)
{
    (void)state;
    assert_int_equal(llmri_grow_cap(0, 1, 8), 4);
    assert_int_equal(llmri_grow_cap(4, 5, 8), 8);
    assert_int_equal(llmri_grow_cap(8, 100, 8), 100);   /* a big jump gets exactly that */
    int *v = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(LLMR_GROW(v, cap, (size_t)i + 1));
        assert_true(cap >= (size_t)i + 1);
        v[i] = i;
    }
    assert_true(cap < 2048);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    size_t before = cap;
    assert_true(LLMR_GROW(v, cap, 10));                 /* already enough: nothing moves */
    assert_int_equal(cap, before);
    free(v);
}

static void grow_refuses_sizes_that_overflow(void **state)
{
    (void)state;
    /* need * elem past SIZE_MAX: refused, not wrapped to a small allocation */
    assert_int_equal(llmri_grow_cap(0, SIZE_MAX / 8 + 1, 8), 0);
    assert_int_equal(llmri_grow_cap(16, SIZE_MAX, 2), 0);
    assert_int_equal(llmri_grow_cap(0, 1, 0), 0);
    /* doubling a capacity past half of size_t would wrap: it settles for what is needed */
    size_t big = SIZE_MAX / 2 + 10;
    assert_int_equal(llmri_grow_cap(big, big + 1, 1), big + 1);
    /* doubling that would overflow cap * elem settles for need too */
    size_t c = SIZE_MAX / 8 - 1;
    assert_int_equal(llmri_grow_cap(c, c + 1, 8), c + 1);

    uint64_t *v = NULL;
    size_t cap = 0;
    assert_true(LLMR_GROW(v, cap, 3));
    uint64_t *keep = v;
    size_t keep_cap = cap;
    v[0] = 42;
    assert_false(LLMR_GROW(v, cap, SIZE_MAX / 4));      /* 2^62 * 8 bytes overflows */
    assert_ptr_equal(v, keep);
    assert_int_equal(cap, keep_cap);
    assert_int_equal(v[0], 42);
    free(v);
}

/* ---- string builder ---------------------------------------------------------------------- */

static void buf_appends_formats_and_edits(void **state)
{
    (void)state;
    llmr_buf b = {0};
    assert_string_equal(llmri_buf_str(&b), "");
    assert_true(llmri_buf_puts(&b, "hello"));
    assert_true(llmri_buf_append(&b, ", world", 7));
    assert_true(llmri_buf_printf(&b, " %d%s", 42, "!"));
    assert_string_equal(b.p, "hello, world 42!");
    assert_int_equal(b.len, 16);
    llmri_buf_consume(&b, 7);
    assert_string_equal(b.p, "world 42!");
    llmri_buf_truncate(&b, 5);
    assert_string_equal(b.p, "world");
    llmri_buf_truncate(&b, 50);                          /* not longer: no change */
    assert_int_equal(b.len, 5);
    /* printf output of any length, not cut at a scratch buffer's size */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_true(llmri_buf_printf(&b, "<%s>", big));
    assert_int_equal(b.len, 5 + 2 + sizeof big - 1);
    assert_int_equal(b.p[b.len - 1], '>');
    assert_int_equal(b.p[b.len], 0);
    llmri_buf_consume(&b, SIZE_MAX);
    assert_int_equal(b.len, 0);
    char *s = llmri_buf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_null(b.p);
    free(s);
    llmri_buf_free(&b);
}

static void buf_limit_and_failure_are_sticky(void **state)
{
    (void)state;
    llmr_buf b = {.limit = 8};
    assert_true(llmri_buf_append(&b, "12345678", 8));    /* exactly the limit */
    assert_false(b.failed);
    assert_false(llmri_buf_append(&b, "9", 1));
    assert_true(b.failed);
    assert_false(llmri_buf_append(&b, "", 0));           /* refused from now on */
    assert_string_equal(b.p, "12345678");
    llmri_buf_free(&b);
    assert_false(b.failed);
    assert_int_equal(b.limit, 8);

    llmr_buf u = {0};
    assert_true(llmri_buf_append(&u, "ab", 2));
    assert_false(llmri_buf_reserve(&u, SIZE_MAX));       /* len + extra overflows */
    assert_true(u.failed);
    assert_false(llmri_buf_reserve(&u, SIZE_MAX - 2));
    assert_string_equal(u.p, "ab");
    llmri_buf_free(&u);
}

/* A pipe holding `n` bytes of 'z', its write end closed. */
static int pipe_with(size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char chunk[512];
    memset(chunk, 'z', sizeof chunk);
    while (n) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        assert_int_equal(write(fds[1], chunk, k), (ssize_t)k);
        n -= k;
    }
    close(fds[1]);
    return fds[0];
}

static void buf_reads_files_and_pipes_within_the_limit(void **state)
{
    (void)state;
    llmr_buf b = {.limit = 1000};
    int fd = pipe_with(1000);                           /* exactly the limit: fine */
    assert_int_equal(llmri_buf_read_fd(&b, fd), LLMR_OK);
    close(fd);
    assert_int_equal(b.len, 1000);
    assert_int_equal(b.p[999], 'z');
    assert_int_equal(b.p[1000], 0);
    llmri_buf_free(&b);

    fd = pipe_with(1001);                               /* one byte more: too big */
    assert_int_equal(llmri_buf_read_fd(&b, fd), LLMR_ERR_TOO_BIG);
    close(fd);
    assert_true(b.failed);
    llmri_buf_free(&b);

    llmr_buf all = {0};
    fd = pipe_with(40000);
    assert_int_equal(llmri_buf_read_fd(&all, fd), LLMR_OK);
    close(fd);
    assert_int_equal(all.len, 40000);
    llmri_buf_free(&all);

    assert_int_equal(llmri_buf_read_path(&all, "/nonexistent/llmr-test-file"),
                     LLMR_ERR_NOT_FOUND);
    char path[] = "/tmp/llmr_test_buf_XXXXXX";
    int t = mkstemp(path);
    assert_true(t >= 0);
    close(t);
    assert_int_equal(llmri_buf_read_path(&all, path), LLMR_OK);   /* empty file: "" */
    assert_non_null(all.p);
    assert_int_equal(all.len, 0);
    unlink(path);
    llmri_buf_free(&all);
}

/* ---- heap -------------------------------------------------------------------------------- */

typedef struct item {
    int key, seq;
} item;

/* lower key first, then lower seq: the tokenizers' "best rank, leftmost on ties" */
static bool item_before(const void *x, const void *y)
{
    const item *a = x, *b = y;
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_pops_in_order_with_ties_broken(void **state)
{
    (void)state;
    llmr_heap h = {0};
    item out;
    assert_false(llmri_heap_pop(&h, &out, sizeof out, item_before));   /* empty */
    uint32_t r = 12345;
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        r = r * 1103515245u + 12345u;
        item it = {(int)((r >> 16) % 50), i};          /* many equal keys */
        assert_true(llmri_heap_push(&h, &it, sizeof it, item_before));
    }
    assert_int_equal(h.n, N);
    item prev = {-1, -1};
    for (int i = 0; i < N; i++) {
        assert_true(llmri_heap_pop(&h, &out, sizeof out, item_before));
        assert_true(item_before(&prev, &out));          /* strictly after the previous one */
        prev = out;
    }
    assert_false(llmri_heap_pop(&h, &out, sizeof out, item_before));

    /* interleaved pushes and pops keep the order; clear keeps the storage */
    for (int i = 0; i < 10; i++) {
        item it = {10 - i, i};
        assert_true(llmri_heap_push(&h, &it, sizeof it, item_before));
    }
    assert_true(llmri_heap_pop(&h, &out, sizeof out, item_before));
    assert_int_equal(out.key, 1);
    item low = {0, 99};
    assert_true(llmri_heap_push(&h, &low, sizeof low, item_before));
    assert_true(llmri_heap_pop(&h, &out, sizeof out, item_before));
    assert_int_equal(out.key, 0);
    assert_true(llmri_heap_pop(&h, &out, sizeof out, item_before));
    assert_int_equal(out.key, 2);
    llmri_heap_clear(&h);
    assert_int_equal(h.n, 0);
    assert_non_null(h.v);
    llmri_heap_free(&h);
    assert_null(h.v);
}

/* ---- arena ------------------------------------------------------------------------------- */

static void arena_hands_out_aligned_zeroed_distinct_memory(void **state)
{
    (void)state;
    llmr_arena a = {0};
    unsigned char *p = llmri_arena_alloc(&a, 0), *q = llmri_arena_alloc(&a, 0);
    assert_non_null(p);
    assert_ptr_not_equal(p, q);
    for (size_t n = 1; n < 200; n += 7) {
        unsigned char *m = llmri_arena_alloc(&a, n);
        assert_non_null(m);
        assert_int_equal((uintptr_t)m % 16, 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(m[i], 0);
        memset(m, 0xAB, n);
    }
    /* a block bigger than a chunk, then small ones: all usable */
    unsigned char *big = llmri_arena_alloc(&a, 200000);
    assert_non_null(big);
    memset(big, 1, 200000);
    char *s = llmri_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    assert_null(llmri_arena_alloc(&a, SIZE_MAX - 8));   /* overflow: refused */
    assert_true(a.exhausted);
    llmri_arena_free(&a);
    assert_false(a.exhausted);
    assert_int_equal(a.total, 0);
}

static void arena_limit_refuses_and_marks_exhausted(void **state)
{
    (void)state;
    llmr_arena a;
    llmri_arena_init(&a, 100);
    assert_non_null(llmri_arena_alloc(&a, 64));
    assert_non_null(llmri_arena_alloc(&a, 32));          /* 96 of 100 */
    assert_false(a.exhausted);
    assert_null(llmri_arena_alloc(&a, 16));              /* 112 > 100 */
    assert_true(a.exhausted);
    llmri_arena_free(&a);
    assert_int_equal(a.limit, 100);
    assert_non_null(llmri_arena_alloc(&a, 96));
    llmri_arena_free(&a);
}

static void arena_grow_copies_and_refuses_overflow(void **state)
{
    (void)state;
    llmr_arena a = {0};
    int *v = NULL;
    size_t cap = 0, n = 0;
    for (int i = 0; i < 100; i++) {
        assert_true(llmri_arena_grow(&a, &v, &cap, n, n + 1, sizeof *v));
        v[n++] = i * 3;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i * 3);
    int *keep = v;
    assert_false(llmri_arena_grow(&a, &v, &cap, n, SIZE_MAX / 2, sizeof *v));
    assert_ptr_equal(v, keep);
    assert_true(a.exhausted);
    llmri_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grow_doubles_and_reaches_what_is_needed),
        cmocka_unit_test(grow_refuses_sizes_that_overflow),
        cmocka_unit_test(buf_appends_formats_and_edits),
        cmocka_unit_test(buf_limit_and_failure_are_sticky),
        cmocka_unit_test(buf_reads_files_and_pipes_within_the_limit),
        cmocka_unit_test(heap_pops_in_order_with_ties_broken),
        cmocka_unit_test(arena_hands_out_aligned_zeroed_distinct_memory),
        cmocka_unit_test(arena_limit_refuses_and_marks_exhausted),
        cmocka_unit_test(arena_grow_copies_and_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
