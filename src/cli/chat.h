/* chat.h - the pieces of `llmr chat` (cmd_chat.c: conversation and replies; chat_cmds.c:
 * input, slash commands, save and load). */
#ifndef LLMR_CLI_CHAT_H
#define LLMR_CLI_CHAT_H

#include "cli/gen_flags.h"
#include "llmr.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct chat_turn {
    const char *role;          /* "user" or "assistant" (static strings) */
    char       *content;       /* owned */
} chat_turn;

typedef struct chat {
    gen_flags   g;
    const char *system_flag, *history_path;
    llmr_model *m;
    const llmr_tokenizer *tok; /* the model's own */
    int         n_ctx;
    char       *system;        /* the system prompt, or NULL */
    chat_turn  *turns;         /* alternating user / assistant */
    size_t      n_turns, cap_turns;
    bool        tty;           /* stdin and stdout are terminals */
    llmr_usage  last;          /* of the last reply, for /stats */
    bool        have_last;
    bool        last_context;  /* the last reply ended because the context was full */
} chat;

enum { CHAT_CONTINUE = 0, CHAT_EXIT = 1, CHAT_FAIL = 2 };

/* One line (or """ block) of input: a command or a user turn. */
int chat_handle_line(chat *c, const char *line, size_t len);
/* Reads input until end of input or /bye. */
int chat_loop(chat *c);
/* True when line starts with a known /command word. */
bool chat_is_command(const char *line, size_t len);
int chat_command(chat *c, const char *line, size_t len);

int chat_add_turn(chat *c, const char *role, const char *text, size_t len);
int chat_set_system(chat *c, const char *text);
void chat_reset(chat *c);
void chat_free(chat *c);

/* A message to the user: stdout on a terminal, stderr when scripted (stdout holds replies). */
void chat_note(chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A copy of s[0..len) with every byte that does not start a valid UTF-8 sequence replaced by
 * U+FFFD; *replaced tells whether any was. NULL when out of memory. */
char *chat_utf8_clean(const char *s, size_t len, size_t *out_len, bool *replaced);

#endif
