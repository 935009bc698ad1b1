/* error.c - result codes and detailed error messages. */
#include "core/error.h"
#include "llmr_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *llmr_strerror(int code)
{
    switch (code) {
    case LLMR_OK:              return "LLMR_OK: success";
    case LLMR_ERR:             return "LLMR_ERR: failure";
    case LLMR_ERR_NOMEM:       return "LLMR_ERR_NOMEM: out of memory";
    case LLMR_ERR_IO:          return "LLMR_ERR_IO: input/output error";
    case LLMR_ERR_FORMAT:      return "LLMR_ERR_FORMAT: malformed input";
    case LLMR_ERR_UNSUPPORTED: return "LLMR_ERR_UNSUPPORTED: not supported";
    case LLMR_ERR_ARG:         return "LLMR_ERR_ARG: invalid argument";
    case LLMR_ERR_CONTEXT:     return "LLMR_ERR_CONTEXT: context window exceeded";
    case LLMR_ERR_STATE:       return "LLMR_ERR_STATE: call does not fit the current state";
    case LLMR_ERR_CANCELLED:   return "LLMR_ERR_CANCELLED: cancelled";
    case LLMR_ERR_TEMPLATE:    return "LLMR_ERR_TEMPLATE: chat template error";
    case LLMR_ERR_NETWORK:     return "LLMR_ERR_NETWORK: network or backend error";
    case LLMR_ERR_BUSY:        return "LLMR_ERR_BUSY: busy, retry later";
    case LLMR_ERR_NOT_FOUND:   return "LLMR_ERR_NOT_FOUND: not found";
    case LLMR_ERR_TOO_BIG:     return "LLMR_ERR_TOO_BIG: size out of range";
    case LLMR_ERR_DENIED:      return "LLMR_ERR_DENIED: not allowed by the configuration";
    case LLMR_PIECE:           return "LLMR_PIECE: a piece is ready";
    case LLMR_DONE:            return "LLMR_DONE: finished";
    default:                   return "unknown result code";
    }
}

const char *llmr_version(void) { return LLMR_VERSION_STRING; }

int llmri_err_set(llmr_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

void llmri_err_clear(llmr_err *e)
{
    if (e) {
        e->code = LLMR_OK;
        e->msg[0] = '\0';
    }
}
