/* test_fetch.c - model sources without a network: SHA-256 vectors, hf: resolution, cache
 * names, directory expansion, cache listing and removal. Downloads are tested by pull.sh. */
#include "test_util.h"
#include "router/fetch.h"
#include "core/digest.h"

#include <unistd.h>

static void hex_of(const void *p, size_t n, char out[65])
{
    llmr_sha256 c;
    uint8_t d[32];
    llmri_sha256_init(&c);
    llmri_sha256_update(&c, p, n);
    llmri_sha256_final(&c, d);
    llmri_sha256_hex(d, out);
}

/* Feeding the same bytes in odd pieces gives the same digest (block-boundary handling). */
static void sha256_is_independent_of_split(void **st)
{
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    char whole[65], parts[65];
    hex_of(buf, sizeof buf, whole);
    size_t cuts[] = {1, 63, 64, 65, 127, 1, 200, 479};
    llmr_sha256 c;
    uint8_t d[32];
    llmri_sha256_init(&c);
    size_t at = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        llmri_sha256_update(&c, buf + at, cuts[i]);
        at += cuts[i];
    }
    llmri_sha256_update(&c, buf + at, sizeof buf - at);
    llmri_sha256_final(&c, d);
    llmri_sha256_hex(d, parts);
    assert_string_equal(whole, parts);
    assert_true(llmri_sha256_hex_valid(whole));
    assert_false(llmri_sha256_hex_valid("abc"));
    whole[3] = 'g';
    assert_false(llmri_sha256_hex_valid(whole));
}

static void hf_reference_resolves_to_the_hub_download_url(void **st)
{
    static const struct { const char *ref, *url; } ok[] = {
        {"hf:TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_K_M.gguf",
         "https://huggingface.co/TheBloke/Llama-2-7B-GGUF/resolve/main/llama-2-7b.Q4_K_M.gguf"},
        {"hf:org/repo/sub/dir/f.gguf", "https://huggingface.co/org/repo/resolve/main/sub/dir/f.gguf"},
        {"hf:org/repo@v1.0/f.gguf", "https://huggingface.co/org/repo/resolve/v1.0/f.gguf"},
    };
    char url[512];
    llmr_err e;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(llmri_hf_resolve(ok[i].ref, url, sizeof url, &e), LLMR_OK);
        assert_string_equal(url, ok[i].url);
    }
    static const struct { const char *ref, *msg; } bad[] = {
        {"hf:org/repo", "expected hf:ORG/REPO/FILE.gguf"},
        {"hf:/repo/f.gguf", "organisation ''"},
        {"hf:org//f.gguf", "repository ''"},
        {"hf:org/repo/", "file ''"},
        {"hf:org/repo/../x.gguf", "none '.' or '..'"},
        {"hf:o rg/repo/f.gguf", "organisation 'o rg'"},
        {"hf:org/repo@/f.gguf", "revision ''"},
        {"hf:org/repo/a//b.gguf", "file 'a//b.gguf'"},
        {"hf:org/repo/a?b.gguf", "file 'a?b.gguf'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(llmri_hf_resolve(bad[i].ref, url, sizeof url, &e), LLMR_ERR_ARG);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].ref, e.msg, bad[i].msg);
    }
    assert_int_equal(llmri_hf_resolve("hf:o/r/f.gguf", url, 20, &e), LLMR_ERR_ARG);
}

static void cache_names_are_flat_and_distinguish_hub_repos(void **st)
{
    static const struct { const char *src, *name; } t[] = {
        {"hf:TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_K_M.gguf",
         "TheBloke--Llama-2-7B-GGUF--llama-2-7b.Q4_K_M.gguf"},
        {"https://huggingface.co/TheBloke/Llama-2-7B-GGUF/resolve/main/llama-2-7b.Q4_K_M.gguf?download=true",
         "TheBloke--Llama-2-7B-GGUF--llama-2-7b.Q4_K_M.gguf"},
        {"hf:a/b/sub/f.gguf", "a--b--sub_f.gguf"},
        {"http://127.0.0.1:8000/models/tiny.gguf", "tiny.gguf"},
        {"https://example.com/x/we%20ird.gguf#frag", "we_20ird.gguf"},
    };
    char name[256];
    llmr_err e;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(llmri_cache_name(t[i].src, name, sizeof name, &e), LLMR_OK);
        assert_string_equal(name, t[i].name);
    }
    assert_int_equal(llmri_cache_name("http://host", name, sizeof name, &e), LLMR_ERR_ARG);
    assert_int_equal(llmri_cache_name("http://host/", name, sizeof name, &e), LLMR_ERR_ARG);
    assert_int_equal(llmri_cache_name("http://host/a/..", name, sizeof name, &e), LLMR_ERR_ARG);
}

static void source_kinds_and_cache_dir_override(void **st)
{
    assert_int_equal(llmri_source_kind("https://x/y.gguf"), LLMR_SRC_URL);
    assert_int_equal(llmri_source_kind("http://x/y.gguf"), LLMR_SRC_URL);
    assert_int_equal(llmri_source_kind("hf:a/b/c.gguf"), LLMR_SRC_HF);
    assert_int_equal(llmri_source_kind("/tmp"), LLMR_SRC_DIR);
    assert_int_equal(llmri_source_kind("no/such/file.gguf"), LLMR_SRC_PATH);
    char dir[256];
    setenv("LLMR_CACHE_DIR", "/tmp/llmr-cache-test", 1);
    assert_int_equal(llmri_cache_dir(dir, sizeof dir, NULL), LLMR_OK);
    assert_string_equal(dir, "/tmp/llmr-cache-test");
    unsetenv("LLMR_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/x", 1);
    assert_int_equal(llmri_cache_dir(dir, sizeof dir, NULL), LLMR_OK);
    assert_string_equal(dir, "/x/llmr");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(llmri_cache_dir(dir, sizeof dir, NULL), LLMR_OK);
    assert_string_equal(dir, "/home/u/.cache/llmr");
}

static void write_file(const char *dir, const char *name, const char *data)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
}

static void directory_expands_to_sorted_gguf_files_and_cache_lists(void **st)
{
    char dir[] = "/tmp/llmr-fetch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    llmr_err e;
    char **v;
    size_t n;
    assert_int_equal(llmri_source_expand(dir, NULL, &v, &n, &e), LLMR_ERR_NOT_FOUND);
    assert_non_null(strstr(e.msg, "no .gguf file"));
    write_file(dir, "b.gguf", "GGUFbbbb");
    write_file(dir, "a.gguf", "GGUFaaaa");
    write_file(dir, "notes.txt", "x");
    write_file(dir, "c.gguf.part", "GGUFcc");
    assert_int_equal(llmri_source_expand(dir, NULL, &v, &n, &e), LLMR_OK);
    assert_int_equal(n, 2);
    assert_non_null(strstr(v[0], "/a.gguf"));
    assert_non_null(strstr(v[1], "/b.gguf"));
    llmri_paths_free(v, n);

    char p[512];
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    assert_int_equal(llmri_fetch(p, NULL, p, sizeof p, &e), LLMR_ERR_FORMAT);
    assert_non_null(strstr(e.msg, "not a GGUF file"));
    assert_int_equal(llmri_fetch("/no/such.gguf", NULL, p, sizeof p, &e), LLMR_ERR_NOT_FOUND);

    llmr_cache_entry *c;
    assert_int_equal(llmri_cache_list(dir, &c, &n, &e), LLMR_OK);
    assert_int_equal(n, 4);
    assert_string_equal(c[0].name, "a.gguf");
    assert_string_equal(c[2].name, "c.gguf");
    assert_true(c[2].partial);
    assert_int_equal(c[2].size, 6);
    free(c);

    assert_int_equal(llmri_cache_remove(dir, "a", &e), LLMR_OK);
    assert_int_equal(llmri_cache_remove(dir, "c.gguf", &e), LLMR_OK);   /* the .part */
    assert_int_equal(llmri_cache_remove(dir, "a.gguf", &e), LLMR_ERR_NOT_FOUND);
    assert_int_equal(llmri_cache_remove(dir, "../x", &e), LLMR_ERR_ARG);
    assert_int_equal(llmri_cache_remove(dir, "b.gguf", &e), LLMR_OK);
    assert_int_equal(llmri_cache_remove(dir, "notes.txt", &e), LLMR_OK);
    assert_int_equal(rmdir(dir), 0);

    assert_int_equal(llmri_cache_list("/no/such/dir", &c, &n, &e), LLMR_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_is_independent_of_split),
        cmocka_unit_test(hf_reference_resolves_to_the_hub_download_url),
        cmocka_unit_test(cache_names_are_flat_and_distinguish_hub_repos),
        cmocka_unit_test(source_kinds_and_cache_dir_override),
        cmocka_unit_test(directory_expands_to_sorted_gguf_files_and_cache_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
