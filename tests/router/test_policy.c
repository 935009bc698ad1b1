/* test_policy.c - what a client may make llmr load: paths confined to folders with realpath,
 * host lists, and which socket addresses a restricted download may connect to. The server's
 * use of them is tested by tests/server/model_load.sh. */
#include "test_util.h"
#include "router/policy.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("GGUF", f);
    fclose(f);
}

static void paths_resolve_inside_the_folders_or_are_refused_alike(void **st)
{
    (void)st;
    char root[] = "/tmp/llmr_policy_XXXXXX", dir[PATH_MAX], p[PATH_MAX + 64], out[PATH_MAX];
    assert_non_null(mkdtemp(root));
    snprintf(p, sizeof p, "%s/models", root);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_non_null(realpath(p, dir));
    char *dirs[] = {dir};
    snprintf(p, sizeof p, "%s/a.gguf", dir);
    touch(p);
    snprintf(p, sizeof p, "%s/secret.gguf", root);
    touch(p);
    char link[PATH_MAX + 64];
    snprintf(link, sizeof link, "%s/out.gguf", dir);        /* a symlink out of the folder */
    assert_int_equal(symlink(p, link), 0);
    snprintf(link, sizeof link, "%s/in.gguf", dir);         /* one that stays inside */
    assert_int_equal(symlink("a.gguf", link), 0);
    llmr_err e;

    snprintf(p, sizeof p, "%s/a.gguf", dir);
    assert_int_equal(llmri_path_confine(p, dirs, 1, out, sizeof out, &e), LLMR_OK);
    assert_string_equal(out, p);
    assert_int_equal(llmri_path_confine("a.gguf", dirs, 1, out, sizeof out, &e), LLMR_OK);
    assert_string_equal(out, p);
    assert_int_equal(llmri_path_confine("in.gguf", dirs, 1, out, sizeof out, &e), LLMR_OK);
    assert_string_equal(out, p);

    /* outside: an existing file, a missing one, a symlink out, '..' - one refusal for all */
    char first[sizeof e.msg];
    snprintf(p, sizeof p, "%s/secret.gguf", root);
    assert_int_equal(llmri_path_confine(p, dirs, 1, out, sizeof out, &e), LLMR_ERR_ARG);
    snprintf(first, sizeof first, "%s", e.msg + strlen(p) + 2);
    snprintf(p, sizeof p, "%s/nothing.gguf", root);
    assert_int_equal(llmri_path_confine(p, dirs, 1, out, sizeof out, &e), LLMR_ERR_ARG);
    assert_string_equal(e.msg + strlen(p) + 2, first);
    assert_int_equal(llmri_path_confine("/no/such/dir/x.gguf", dirs, 1, out, sizeof out, &e),
                     LLMR_ERR_ARG);
    assert_int_equal(llmri_path_confine("out.gguf", dirs, 1, out, sizeof out, &e), LLMR_ERR_ARG);
    snprintf(p, sizeof p, "%s/../secret.gguf", dir);
    assert_int_equal(llmri_path_confine(p, dirs, 1, out, sizeof out, &e), LLMR_ERR_ARG);
    assert_non_null(strstr(e.msg, "'..'"));
    assert_int_equal(llmri_path_confine("../secret.gguf", dirs, 1, out, sizeof out, &e),
                     LLMR_ERR_ARG);
    /* a file that would be inside but is not there: not found */
    assert_int_equal(llmri_path_confine("b.gguf", dirs, 1, out, sizeof out, &e),
                     LLMR_ERR_NOT_FOUND);
    snprintf(p, sizeof p, "%s/sub/b.gguf", dir);
    assert_int_equal(llmri_path_confine(p, dirs, 1, out, sizeof out, &e), LLMR_ERR_NOT_FOUND);
    /* no folders: nothing is inside */
    assert_int_equal(llmri_path_confine("a.gguf", dirs, 0, out, sizeof out, &e), LLMR_ERR_ARG);

    assert_true(llmri_path_inside("/a/b", "/a"));
    assert_true(llmri_path_inside("/a", "/a"));
    assert_false(llmri_path_inside("/ab", "/a"));
    assert_true(llmri_path_inside("/x", "/"));

    const char *rm[] = {"in.gguf", "out.gguf", "a.gguf"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, rm[i]);
        unlink(p);
    }
    rmdir(dir);
    snprintf(p, sizeof p, "%s/secret.gguf", root);
    unlink(p);
    rmdir(root);
}

static void hosts_match_names_their_subdomains_and_exact_addresses(void **st)
{
    (void)st;
    char *hosts[] = {"huggingface.co", "127.0.0.1", "::1"};
    assert_true(rt_host_listed("huggingface.co", hosts, 3));
    assert_true(rt_host_listed("HuggingFace.co.", hosts, 3));
    assert_true(rt_host_listed("cdn-lfs.huggingface.co", hosts, 3));
    assert_false(rt_host_listed("evilhuggingface.co", hosts, 3));
    assert_false(rt_host_listed("huggingface.co.evil.com", hosts, 3));
    assert_true(rt_host_listed("127.0.0.1", hosts, 3));
    assert_false(rt_host_listed("0.127.0.0.1", hosts, 3));    /* addresses have no subdomains */
    assert_false(rt_host_listed("localhost", hosts, 3));
    assert_true(rt_host_listed("::1", hosts, 3));

    char h[256];
    llmr_err e;
    assert_int_equal(rt_url_host("https://huggingface.co/a/b", h, sizeof h, &e), LLMR_OK);
    assert_string_equal(h, "huggingface.co");
    /* user info is not the host */
    assert_int_equal(rt_url_host("http://huggingface.co@127.0.0.1:9/x", h, sizeof h, &e),
                     LLMR_OK);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(rt_url_host("http://[::1]:8080/x", h, sizeof h, &e), LLMR_OK);
    assert_string_equal(h, "::1");
    assert_int_equal(rt_url_host("ftp://example.com/x", h, sizeof h, &e), LLMR_ERR_ARG);
    assert_int_equal(rt_url_host("http://", h, sizeof h, &e), LLMR_ERR_ARG);
    assert_int_equal(rt_url_host("not a url", h, sizeof h, &e), LLMR_ERR_ARG);
}

static bool allowed(const char *addr, char *const *hosts, size_t n)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        fail_msg("not an address: %s", addr);
    char text[46];
    return rt_addr_allowed((struct sockaddr *)&ss, hosts, n, text);
}

static void only_public_or_listed_addresses_may_be_connected_to(void **st)
{
    (void)st;
    const char *refused[] = {
        "127.0.0.1", "127.1.2.3", "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1",
        "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.1.2.3", "64:ff9b::7f00:1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (allowed(refused[i], NULL, 0))
            fail_msg("%s was allowed", refused[i]);
    const char *ok[] = {"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "2606:4700::1",
                        "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!allowed(ok[i], NULL, 0))
            fail_msg("%s was refused", ok[i]);
    /* a listed address is allowed; a listed name does not allow what it resolves to */
    char *hosts[] = {"127.0.0.1", "localhost", "fd00::7"};
    assert_true(allowed("127.0.0.1", hosts, 3));
    assert_true(allowed("::ffff:127.0.0.1", hosts, 3));
    assert_true(allowed("fd00::7", hosts, 3));
    assert_false(allowed("127.0.0.2", hosts, 3));
    assert_false(allowed("::1", hosts, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_resolve_inside_the_folders_or_are_refused_alike),
        cmocka_unit_test(hosts_match_names_their_subdomains_and_exact_addresses),
        cmocka_unit_test(only_public_or_listed_addresses_may_be_connected_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
