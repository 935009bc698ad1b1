/* error.h - the detailed-error record every handle carries (see llmr_strerror in llmr.h). */
#ifndef LLMR_CORE_ERROR_H
#define LLMR_CORE_ERROR_H

#include "llmr.h"

/* A result code and a message that says what was wrong, where, and what was expected.
 * Fixed-size so that recording an error never allocates (it may be out of memory). */
typedef struct llmr_err {
    int  code;
    char msg[512];
} llmr_err;

/* Records code and a printf-style message in *e (which may be NULL) and returns code, so
 * that `return llmri_err_set(e, LLMR_ERR_FORMAT, "...")` reads naturally. */
int llmri_err_set(llmr_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears *e to LLMR_OK with an empty message. */
void llmri_err_clear(llmr_err *e);

#endif
