/* test_template_expected.c - every real model template in ../shared/chat-templates/expected
 * renders each case byte for byte as Python's jinja2 does under HF's apply_chat_template
 * (bos "<s>", eos "</s>", add_generation_prompt, strftime_now fixed to 2024-07-26), or fails
 * where jinja2 raises, with jinja2's message. */
#include "test_util.h"
#include "llmr.h"

#include <dirent.h>

static const llmr_chat_msg SYS = {"system", "You are a helpful assistant."};
static const llmr_chat_msg U1 = {"user", "Hello, how are you?"};
static const llmr_chat_msg A1 = {"assistant", "I'm doing great. How can I help you today?"};
static const llmr_chat_msg U2 = {"user", "I'd like to show off how chat templating works!"};

static int check_case(const char *dir, llmr_template *t, const char *cname,
                      const llmr_chat_msg *m, size_t n, int *ran)
{
    char path[1200];
    llmr_template_opts o = llmr_template_defaults();
    o.add_generation_prompt = true;
    o.bos_token = "<s>";
    o.eos_token = "</s>";
    o.date = "2024-07-26";
    char *out = NULL;
    size_t len = 0;
    int rc = llmr_template_render(t, m, n, &o, &out, &len);
    snprintf(path, sizeof path, "%s/%s", dir, cname);
    size_t want_len = 0;
    char *want = slurp(path, &want_len);
    int bad = 0;
    if (want) {
        if (rc != LLMR_OK) {
            print_message("%s: failed: %s\n", path, llmr_template_errmsg(t));
            bad = 1;
        } else if (len != want_len || memcmp(out, want, len) != 0) {
            print_message("%s: output differs\n--- want\n%s\n--- got\n%s\n", path, want, out);
            bad = 1;
        }
    } else {
        snprintf(path, sizeof path, "%s/%s.error", dir, cname);
        want = slurp(path, &want_len);
        if (!want) {
            print_message("%s: neither an expected output nor an .error file\n", path);
            return 1;
        }
        while (want_len && (want[want_len - 1] == '\n' || want[want_len - 1] == '\r'))
            want[--want_len] = 0;
        if (rc != LLMR_ERR_TEMPLATE || !strstr(llmr_template_errmsg(t), want)) {
            print_message("%s: wanted an error containing [%s], got rc %d [%s]\n", path, want,
                          rc, rc ? llmr_template_errmsg(t) : out);
            bad = 1;
        }
    }
    (*ran)++;
    free(want);
    free(out);
    return bad;
}

static void every_expected_case_matches(void **state)
{
    (void)state;
    REQUIRE_SHARED(root, "chat-templates/expected");
    DIR *d = opendir(root);
    assert_non_null(d);
    struct dirent *e;
    int bad = 0, ran = 0, models = 0;
    const llmr_chat_msg c1[] = {U1}, c2[] = {U1, A1, U2}, c3[] = {SYS, U1, A1, U2};
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1024], tpath[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        snprintf(tpath, sizeof tpath, "%s/template.jinja", dir);
        char *src = slurp(tpath, NULL);
        if (!src)
            continue;
        models++;
        llmr_template *t = NULL;
        if (llmr_template_open(src, &t) != LLMR_OK) {
            print_message("%s: does not parse: %s\n", tpath, llmr_template_errmsg(t));
            bad += 3;
        } else {
            bad += check_case(dir, t, "user", c1, 1, &ran);
            bad += check_case(dir, t, "user-assistant-user", c2, 3, &ran);
            bad += check_case(dir, t, "system-user-assistant-user", c3, 4, &ran);
        }
        llmr_template_close(t);
        free(src);
    }
    closedir(d);
    print_message("%d models, %d cases, %d failed\n", models, ran, bad);
    assert_true(models > 0);
    assert_int_equal(bad, 0);
}

/* The llama.cpp copies of the same templates (and any others there) must at least parse and
 * render a plain conversation or fail with a clear message, never crash. */
static void every_llama_cpp_template_parses(void **state)
{
    (void)state;
    REQUIRE_SHARED(root, "chat-templates/llama.cpp");
    DIR *d = opendir(root);
    assert_non_null(d);
    struct dirent *e;
    int bad = 0;
    const llmr_chat_msg c3[] = {SYS, U1, A1, U2};
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".jinja"))
            continue;
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        char *src = slurp(path, NULL);
        llmr_template *t = NULL;
        if (llmr_template_open(src, &t) != LLMR_OK) {
            print_message("%s: does not parse: %s\n", path, llmr_template_errmsg(t));
            bad++;
        } else {
            char *out = NULL;
            llmr_template_opts o = llmr_template_defaults();
            o.date = "2024-07-26";
            int rc = llmr_template_render(t, c3 + 1, 3, &o, &out, NULL);
            if (rc != LLMR_OK && rc != LLMR_ERR_TEMPLATE)
                bad++;
            if (rc == LLMR_OK && strstr(out, "Hello, how are you?") == NULL) {
                print_message("%s: the user's message is missing from the prompt\n", path);
                bad++;
            }
            free(out);
        }
        llmr_template_close(t);
        free(src);
    }
    closedir(d);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_expected_case_matches),
        cmocka_unit_test(every_llama_cpp_template_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
