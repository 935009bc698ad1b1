/* test_model_name.c - model names through the public llmr_model_resolve and the internals
 * under it: cache names with and without .gguf, NAME:TAG, hub file parts, aliases (and a loop
 * of them), ambiguity, close matches, the default model, ollama cache names. No network. */
#include "test_util.h"
#include "router/model_name.h"

#include <unistd.h>

static char dir[256];

static void touch(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("GGUF", f);
    fclose(f);
}

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/llmr-names-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    setenv("LLMR_CACHE_DIR", dir, 1);
    unsetenv("LLMR_DEFAULT_MODEL");
    touch("story.gguf");
    touch("story-7b.gguf");
    touch("Org--Repo-GGUF--repo-Q4_K_M.gguf");
    touch("half.gguf.part");               /* an unfinished download is no model */
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* resolves name; returns the path's file name part, or NULL with the message in msg */
static const char *resolve(const char *name, int *rc, char *msg, size_t n)
{
    static char path[1024];
    *rc = llmr_model_resolve(name, path, sizeof path, msg, n);
    if (*rc)
        return NULL;
    const char *sl = strrchr(path, '/');
    return sl ? sl + 1 : path;
}

static void cache_names_tags_and_hub_parts_resolve(void **st)
{
    (void)st;
    int rc;
    char msg[512];
    assert_string_equal(resolve("story", &rc, msg, sizeof msg), "story.gguf");
    assert_string_equal(resolve("story.gguf", &rc, msg, sizeof msg), "story.gguf");
    assert_string_equal(resolve("story:latest", &rc, msg, sizeof msg), "story.gguf");
    assert_string_equal(resolve("story:7b", &rc, msg, sizeof msg), "story-7b.gguf");
    assert_string_equal(resolve("STORY:7B", &rc, msg, sizeof msg), "story-7b.gguf");
    assert_string_equal(resolve("repo-Q4_K_M", &rc, msg, sizeof msg),
                        "Org--Repo-GGUF--repo-Q4_K_M.gguf");
    assert_null(resolve("half", &rc, msg, sizeof msg));
    assert_int_equal(rc, LLMR_ERR_NOT_FOUND);
}

static void unknown_names_list_close_matches_in_one_line(void **st)
{
    (void)st;
    int rc;
    char msg[512];
    assert_null(resolve("stroy:7b", &rc, msg, sizeof msg));
    assert_int_equal(rc, LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(msg, "close matches: story-7b"));
    assert_null(strchr(msg, '\n'));
    assert_null(resolve("qqqqqqqqqqqqqqq", &rc, msg, sizeof msg));
    assert_null(strstr(msg, "close matches"));
    /* a tiny buffer gets a truncated, terminated message */
    char small[8];
    assert_int_equal(llmr_model_resolve("stroy", (char[64]){0}, 64, small, sizeof small),
                     LLMR_ERR_NOT_FOUND);
    assert_int_equal(strlen(small), 7);
}

static void aliases_resolve_and_a_loop_ends(void **st)
{
    (void)st;
    int rc;
    char msg[512];
    llmr_err err;
    llmri_err_clear(&err);
    assert_int_equal(llmri_alias_set(dir, "tiny", "story:7b", &err), LLMR_OK);
    assert_string_equal(resolve("tiny", &rc, msg, sizeof msg), "story-7b.gguf");
    assert_int_equal(llmri_alias_set(dir, "a", "b", &err), LLMR_OK);
    assert_int_equal(llmri_alias_set(dir, "b", "a", &err), LLMR_OK);
    assert_null(resolve("a", &rc, msg, sizeof msg));      /* a loop is cut, not followed */
    assert_int_equal(llmri_alias_set(dir, "x/y", "story", &err), LLMR_ERR_ARG);
    assert_int_equal(llmri_alias_set(dir, "http://h/x", "story", &err), LLMR_ERR_ARG);
    assert_int_equal(llmri_alias_set(dir, "tiny", NULL, &err), LLMR_OK);
    assert_int_equal(llmri_alias_set(dir, "tiny", NULL, &err), LLMR_ERR_NOT_FOUND);
    assert_null(resolve("tiny", &rc, msg, sizeof msg));
}

static void a_case_folded_match_of_two_entries_is_ambiguous(void **st)
{
    (void)st;
    int rc;
    char msg[512];
    touch("Story.gguf");
    assert_string_equal(resolve("Story", &rc, msg, sizeof msg), "Story.gguf");  /* exact */
    assert_null(resolve("STORY", &rc, msg, sizeof msg));
    assert_int_equal(rc, LLMR_ERR_ARG);
    assert_non_null(strstr(msg, "matches several cached models"));
    char p[512];
    snprintf(p, sizeof p, "%s/Story.gguf", dir);
    unlink(p);
}

static void the_default_model_and_paths(void **st)
{
    (void)st;
    char path[1024], msg[512];
    setenv("LLMR_DEFAULT_MODEL", "/some/where/stories260K.gguf", 1);
    assert_int_equal(llmr_model_resolve(NULL, path, sizeof path, msg, sizeof msg), LLMR_OK);
    assert_string_equal(path, "/some/where/stories260K.gguf");
    assert_int_equal(llmr_model_resolve("stories260K", path, sizeof path, msg, sizeof msg), 0);
    assert_string_equal(path, "/some/where/stories260K.gguf");
    unsetenv("LLMR_DEFAULT_MODEL");
    /* a path is itself, existing or not: opening it reports what is wrong */
    assert_int_equal(llmr_model_resolve("no/such/x.gguf", path, sizeof path, msg, sizeof msg), 0);
    assert_string_equal(path, "no/such/x.gguf");
    assert_int_equal(llmr_model_resolve("story", path, 4, msg, sizeof msg), LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmr_model_resolve(dir, path, sizeof path, msg, sizeof msg), LLMR_ERR_ARG);
}

static void ollama_names_cache_as_name_tag(void **st)
{
    (void)st;
    char f[300];
    llmr_err err;
    assert_int_equal(rt_ollama_file("ollama:llama3.2", f, sizeof f, &err), LLMR_OK);
    assert_string_equal(f, "llama3.2-latest.gguf");
    assert_int_equal(rt_ollama_file("ollama:qwen2.5:0.5b", f, sizeof f, &err), LLMR_OK);
    assert_string_equal(f, "qwen2.5-0.5b.gguf");
    assert_int_equal(rt_ollama_file("ollama:someone/model:Q4", f, sizeof f, &err), LLMR_OK);
    assert_string_equal(f, "someone--model-Q4.gguf");
    const char *bad[] = {"ollama:", "ollama:../x", "ollama:a/b/c", "ollama:A", "ollama:x:",
                         "ollama:x:a/b", "ollama:.hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rt_ollama_file(bad[i], f, sizeof f, &err), LLMR_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_names_tags_and_hub_parts_resolve),
        cmocka_unit_test(unknown_names_list_close_matches_in_one_line),
        cmocka_unit_test(aliases_resolve_and_a_loop_ends),
        cmocka_unit_test(a_case_folded_match_of_two_entries_is_ambiguous),
        cmocka_unit_test(the_default_model_and_paths),
        cmocka_unit_test(ollama_names_cache_as_name_tag),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
