/* test_model_memory.c - llmr_model_open_memory: a GGUF file held in memory (how the
 * WebAssembly build's worker loads a download) opens and generates exactly what the same file
 * does from disk; a truncated buffer fails with the file's name and offsets; NULL data is an
 * argument error. */
#include "test_util.h"

#include "llmr.h"

#define STORIES "models/stories260K.gguf"

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static char *greedy(llmr_model *m)
{
    llmr_gen_opts o = llmr_gen_defaults();
    o.max_tokens = 40;
    o.sampling.temperature = 0;
    char *text = NULL;
    assert_int_equal(llmr_generate(m, "Once upon a time", &o, &text, NULL, NULL, 0), LLMR_OK);
    return text;
}

static void model_in_memory_generates_what_the_file_does(void **state)
{
    (void)state;
    const char *path = shared_path(STORIES);
    if (!path)
        skip();
    size_t len;
    void *data = read_all(path, &len);
    llmr_model *disk, *mem;
    assert_int_equal(llmr_model_open(path, NULL, &disk), LLMR_OK);
    assert_int_equal(llmr_model_open_memory(data, len, "stories.gguf", NULL, &mem), LLMR_OK);
    char *a = greedy(disk), *b = greedy(mem);
    assert_true(strlen(a) > 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    llmr_model_close(mem);
    llmr_model_close(disk);
    free(data);
}

static void truncated_memory_fails_naming_the_file(void **state)
{
    (void)state;
    const char *path = shared_path(STORIES);
    if (!path)
        skip();
    size_t len;
    void *data = read_all(path, &len);
    llmr_model *m;
    int rc = llmr_model_open_memory(data, len / 2, "cut.gguf", NULL, &m);
    assert_int_equal(rc, LLMR_ERR_FORMAT);
    const char *msg = llmr_model_errmsg(m);
    assert_non_null(strstr(msg, "cut.gguf"));
    assert_non_null(strstr(msg, "past the end of the file"));
    llmr_model_close(m);
    free(data);
}

static void null_data_is_an_argument_error(void **state)
{
    (void)state;
    llmr_model *m;
    assert_int_equal(llmr_model_open_memory(NULL, 100, "x.gguf", NULL, &m), LLMR_ERR_ARG);
    assert_non_null(strstr(llmr_model_errmsg(m), "no model data"));
    llmr_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_in_memory_generates_what_the_file_does),
        cmocka_unit_test(truncated_memory_fails_naming_the_file),
        cmocka_unit_test(null_data_is_an_argument_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
