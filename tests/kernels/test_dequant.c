/* test_dequant.c - every tensor of every qfix fixture dequantizes bit for bit as llama.cpp
 * does: the sha256 of its f32 values equals ../shared/fixtures/qfix-dequant-checksums.json;
 * and sha256 itself against the FIPS 180-4 examples. */
#include "test_util.h"
#include "core/sha256.h"
#include "gguf/gguf.h"
#include "kernels/tensor.h"

#include <cjson/cJSON.h>

static void hex_of(const char *msg, size_t n, char out[65])
{
    llmr_sha256 s;
    uint8_t d[32];
    llmri_sha256_init(&s);
    /* feed in uneven pieces to exercise the buffering */
    for (size_t i = 0; i < n; i += 7)
        llmri_sha256_update(&s, msg + i, n - i < 7 ? n - i : 7);
    llmri_sha256_final(&s, d);
    llmri_sha256_hex(d, out);
}

static void sha256_matches_fips_examples(void **state)
{
    (void)state;
    char h[65];
    hex_of("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m, strlen(m), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    hex_of(a, 1000000, h);
    free(a);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void every_fixture_tensor_dequantizes_bit_for_bit(void **state)
{
    (void)state;
    REQUIRE_SHARED(sums_path, "fixtures/qfix-dequant-checksums.json");
    char *txt = slurp(sums_path, NULL);
    assert_non_null(txt);
    cJSON *root = cJSON_Parse(txt);
    free(txt);
    assert_non_null(root);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    assert_true(cJSON_IsObject(files));
    int n_files = 0, n_tensors = 0, bad = 0;
    const cJSON *file;
    cJSON_ArrayForEach(file, files) {
        char rel[256];
        snprintf(rel, sizeof rel, "fixtures/%s", file->string);
        const char *path = shared_path(rel);
        assert_non_null(path);
        gguf_file *g = NULL;
        llmr_err err = {0};
        assert_int_equal(gguf_open(path, &g, &err), LLMR_OK);
        const cJSON *tensor;
        cJSON_ArrayForEach(tensor, file) {
            const gguf_tensor *t = gguf_find_tensor(g, tensor->string);
            assert_non_null(t);
            const cJSON *want = cJSON_GetObjectItemCaseSensitive(tensor, "sha256_f32");
            assert_true(cJSON_IsString(want));
            char hex[65];
            assert_int_equal(llmri_tensor_sha256(t, hex, &err), LLMR_OK);
            if (strcmp(hex, want->valuestring)) {
                print_error("%s %s: sha256 %s, llama.cpp's %s\n", file->string, t->name.ptr,
                            hex, want->valuestring);
                bad++;
            }
            n_tensors++;
        }
        gguf_close(g);
        n_files++;
    }
    cJSON_Delete(root);
    print_message("%d tensors in %d files checked\n", n_tensors, n_files);
    assert_true(n_files >= 15);
    assert_true(n_tensors >= 300);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_fips_examples),
        cmocka_unit_test(every_fixture_tensor_dequantizes_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
