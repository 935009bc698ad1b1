/* policy.h - what a remote client may make llmr read or fetch.
 *
 * A client of `llmr serve` names models to load (POST /api/models/load). Those names are
 * outside input: a path may point anywhere on the disk (or through a symlink out of the
 * models folder), a URL at any address the server can reach (loopback services, the LAN,
 * cloud metadata at 169.254.169.254). The checks here confine both: paths to folders the
 * operator named, resolved with realpath(3); URLs to hosts the operator listed, and the
 * addresses actually connected to (not just the names) to public ones unless listed. */
#ifndef LLMR_ROUTER_POLICY_H
#define LLMR_ROUTER_POLICY_H

#include "core/error.h"
#include "core/path.h"

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* Whether host (a URL's host: a name, or an address without brackets) is listed in hosts
 * (lower case): equal to an entry, or for a name entry one of its subdomains
 * ("cdn-lfs.huggingface.co" for "huggingface.co"). Case-insensitive. */
bool rt_host_listed(const char *host, char *const *hosts, size_t n_hosts);

/* The host of an http(s) URL as libcurl parses it (brackets of an IPv6 address taken off),
 * in host (n bytes). LLMR_ERR_ARG when it has none or is not http(s); LLMR_ERR_UNSUPPORTED
 * without libcurl. */
int rt_url_host(const char *url, char *host, size_t n, llmr_err *err);

/* Whether a socket address may be connected to for a restricted download: a public address,
 * or one whose text form (inet_ntop's) is listed in hosts. Loopback, private (RFC 1918, ULA),
 * link-local, CGNAT, unspecified, multicast and reserved addresses are not public; an
 * IPv4-mapped IPv6 address is judged as its IPv4 address. The address's text goes to text
 * (46 bytes) for messages. */
bool rt_addr_allowed(const struct sockaddr *sa, char *const *hosts, size_t n_hosts,
                     char text[46]);

/* A restricted download's guard on one libcurl handle: rt_guard_curl sets the handle up so
 * that every socket it opens is checked with rt_addr_allowed against hosts (curl connects to
 * the addresses it resolved itself, so a name that resolves to a public address for a check
 * and to 127.0.0.1 for the connection - DNS rebinding - is caught), no proxy is used, and
 * redirects are not followed: the caller checks each Location's host and follows it itself.
 * A refused connection sets refused and names the address in why; curl then reports
 * CURLE_COULDNT_CONNECT. Does nothing without libcurl. */
typedef struct rt_net_guard {
    char *const *hosts;
    size_t       n_hosts;
    bool         refused;
    char         why[96];
} rt_net_guard;

void rt_guard_curl(void *curl, rt_net_guard *g);

#endif
