/* policy.c - confinement of client-named paths and download addresses (see policy.h). */
#include "router/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#ifdef LLMR_HAVE_CURL
#include <curl/curl.h>
#endif

/* ---- hosts and addresses ---------------------------------------------------------------- */

static bool is_address(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool rt_host_listed(const char *host, char *const *hosts, size_t n_hosts)
{
    size_t hn = strlen(host);
    if (hn && host[hn - 1] == '.')
        hn--;                                   /* "huggingface.co." is the same name */
    for (size_t i = 0; i < n_hosts; i++) {
        const char *e = hosts[i];
        size_t en = strlen(e);
        if (hn == en && !strncasecmp(host, e, hn))
            return true;
        if (hn > en + 1 && host[hn - en - 1] == '.' && !strncasecmp(host + hn - en, e, en) &&
            !is_address(e))
            return true;
    }
    return false;
}

int rt_url_host(const char *url, char *host, size_t n, llmr_err *err)
{
#ifdef LLMR_HAVE_CURL
    /* libcurl's own parser, so the host checked is the host curl connects to (user info,
     * odd IPv4 forms like 0x7f.1 and percent-encoding are read as curl reads them) */
    CURLU *u = curl_url();
    char *h = NULL, *scheme = NULL;
    int rc = LLMR_OK;
    if (!u)
        return llmri_err_set(err, LLMR_ERR_NOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !h[0]) {
        rc = llmri_err_set(err, LLMR_ERR_ARG, "'%.200s': expected an http(s)://HOST/... URL",
                          url);
    } else {
        size_t len = strlen(h);
        const char *s = h;
        if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
            s = h + 1;
            len -= 2;
        }
        if (len >= n)
            rc = llmri_err_set(err, LLMR_ERR_ARG, "'%.200s': the host name is too long", url);
        else
            snprintf(host, n, "%.*s", (int)len, s);
    }
    curl_free(h);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
#else
    (void)url;
    (void)host;
    (void)n;
    return llmri_err_set(err, LLMR_ERR_UNSUPPORTED, "llmr was built without libcurl");
#endif
}

/* Whether an IPv4 address (host order) is public: not in a range IANA reserves for private
 * networks, loopback, link-local, shared (CGNAT), benchmarking, multicast or future use
 * (RFC 6890's special-purpose registry). */
static bool v4_public(uint32_t a)
{
    static const struct { uint32_t net, mask; } special[] = {
        {0x00000000, 0xff000000},   /* 0/8: "this network"; 0.0.0.0 reaches the local host */
        {0x0a000000, 0xff000000},   /* 10/8 */
        {0x64400000, 0xffc00000},   /* 100.64/10: shared address space */
        {0x7f000000, 0xff000000},   /* 127/8: loopback */
        {0xa9fe0000, 0xffff0000},   /* 169.254/16: link-local (cloud metadata lives here) */
        {0xac100000, 0xfff00000},   /* 172.16/12 */
        {0xc0000000, 0xffffff00},   /* 192.0.0/24: IETF protocol assignments */
        {0xc0a80000, 0xffff0000},   /* 192.168/16 */
        {0xc6120000, 0xfffe0000},   /* 198.18/15: benchmarking */
        {0xe0000000, 0xe0000000},   /* 224/3: multicast, reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if ((a & special[i].mask) == special[i].net)
            return false;
    return true;
}

static bool v6_public(const uint8_t *b, uint32_t *v4, bool *has_v4)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t zero[12] = {0};
    *has_v4 = !memcmp(b, mapped, 12) || !memcmp(b, nat64, 12);
    if (*has_v4) {
        *v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_public(*v4);
    }
    if (!memcmp(b, zero, 12))
        return false;                 /* ::, ::1 and the old IPv4-compatible form */
    if ((b[0] & 0xfe) == 0xfc)
        return false;                 /* fc00::/7: unique local */
    if (b[0] == 0xfe && (b[1] & 0x80) == 0x80)
        return false;                 /* fe80::/10 link-local, fec0::/10 site-local */
    if (b[0] == 0xff)
        return false;                 /* ff00::/8: multicast */
    return true;
}

bool rt_addr_allowed(const struct sockaddr *sa, char *const *hosts, size_t n_hosts,
                     char text[46])
{
    bool pub = false, has_v4 = false;
    uint32_t v4 = 0;
    text[0] = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, text, 46);
        pub = v4_public(ntohl(in->sin_addr.s_addr));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, text, 46);
        pub = v6_public(in6->sin6_addr.s6_addr, &v4, &has_v4);
    } else {
        snprintf(text, 46, "(address family %d)", sa->sa_family);
        return false;
    }
    if (pub)
        return true;
    for (size_t i = 0; i < n_hosts; i++)
        if (!strcasecmp(hosts[i], text))
            return true;
    if (has_v4) {                     /* ::ffff:127.0.0.1 is listed as 127.0.0.1 */
        struct in_addr ia = {htonl(v4)};
        char t4[16];
        inet_ntop(AF_INET, &ia, t4, sizeof t4);
        for (size_t i = 0; i < n_hosts; i++)
            if (!strcmp(hosts[i], t4))
                return true;
    }
    return false;
}

#ifdef LLMR_HAVE_CURL
static curl_socket_t open_checked(void *user, curlsocktype purpose, struct curl_sockaddr *a)
{
    rt_net_guard *g = user;
    char text[46];
    if (purpose != CURLSOCKTYPE_IPCXN ||
        !rt_addr_allowed(&a->addr, g->hosts, g->n_hosts, text)) {
        g->refused = true;
        snprintf(g->why, sizeof g->why, "address %s is not public and not listed", text);
        return CURL_SOCKET_BAD;
    }
#ifdef SOCK_CLOEXEC
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
    return socket(a->family, a->socktype, a->protocol);
#endif
}
#endif

void rt_guard_curl(void *curl, rt_net_guard *g)
{
#ifdef LLMR_HAVE_CURL
    CURL *c = curl;
    g->refused = false;
    g->why[0] = 0;
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#else
    (void)curl;
    (void)g;
#endif
}
