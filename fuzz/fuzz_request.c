/* fuzz_request.c - libFuzzer target for request parsing (src/server/request.c): the first byte
 * picks the API (OpenAI chat or completions, ollama generate or chat, WebSocket chat), the rest
 * is the body. Parsing must never crash, leak or read out of bounds, and every failure must
 * carry a 4xx/5xx status and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/request.h"

static int fuzz_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    srv_api api = (srv_api)(data[0] % 5);
    /* A copy without a NUL after it: the parser is given a length and must respect it. */
    char *body = malloc(size - 1 ? size - 1 : 1);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    srv_req r;
    srv_error e;
    memset(&e, 0, sizeof e);
    int rc = srv_req_parse(api, body, size - 1, &r, &e);
    if (rc != 0 && (rc < 400 || rc > 599 || !e.msg[0]))
        abort();
    if (rc == 0 && (api == SRV_API_CHAT || api == SRV_API_OLLAMA_CHAT) && r.n_msgs > 0 &&
        (!r.msgs[0].role || !r.msgs[0].content))
        abort();
    srv_req_free(&r);
    free(body);
    return 0;
}

#include "worker_stack.h"
