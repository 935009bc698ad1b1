/* cmd_chat.c - `llmr chat`: an interactive conversation in the terminal, as `ollama run` does.
 *
 * The conversation is kept as a message list and rendered with the model's own chat template
 * for every reply; the stream layer's prefix cache makes re-rendering cheap (only the new turn
 * is evaluated). When the rendered prompt plus room for the reply would overflow the context,
 * the oldest exchanges are dropped, each with a one-line notice, never silently.
 *
 * Ctrl-C: SIGINT is blocked in every thread and taken by a small thread with sigwait(), which
 * stops the reply in progress (llmr_stream_stop is not async-signal-safe, so no handler may
 * call it). At the prompt Ctrl-C is ignored; Ctrl-D or /bye exits.
 * When stdin is not a terminal, each line is one user turn, only replies are printed
 * (commands' messages go to stderr), and the program exits at end of input. */
#include "cli/cli.h"
#include "cli/chat.h"
#include "cli/gen_flags.h"
#include "core/grow.h"
#include "core/util.h"
#include "model/model.h"
#include "stream/local.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Ctrl-C ----------------------------------------------------------------------------- */

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static bool sig_busy;                    /* a reply is being made, guarded by sig_mu */
static llmr_stream *sig_active;          /* its stream once open, guarded by sig_mu */
static bool sig_cancelled;               /* Ctrl-C during this reply, guarded by sig_mu */
static bool sig_quit;                    /* tells the thread to end, guarded by sig_mu */
static bool sig_exit_idle;               /* pipe mode: Ctrl-C while idle ends the program */

static void *sigint_thread(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig;
        if (sigwait(set, &sig) != 0)
            continue;
        pthread_mutex_lock(&sig_mu);
        bool quit = sig_quit;
        if (!quit && sig_busy) {
            /* Also during prompt processing: set_active() stops the stream as it opens. */
            sig_cancelled = true;
            if (sig_active)
                llmr_stream_stop(sig_active);
        } else if (!quit && sig_exit_idle) {
            _exit(130);
        }
        pthread_mutex_unlock(&sig_mu);
        if (quit)
            return NULL;
    }
}

static void set_busy(bool busy)
{
    pthread_mutex_lock(&sig_mu);
    sig_busy = busy;
    sig_cancelled = false;
    pthread_mutex_unlock(&sig_mu);
}

static void set_active(llmr_stream *s)
{
    pthread_mutex_lock(&sig_mu);
    sig_active = s;
    if (s && sig_cancelled)
        llmr_stream_stop(s);
    pthread_mutex_unlock(&sig_mu);
}

/* ---- the conversation ------------------------------------------------------------------- */

static void turns_clear(chat *c)
{
    for (size_t i = 0; i < c->n_turns; i++)
        free(c->turns[i].content);
    c->n_turns = 0;
}

int chat_add_turn(chat *c, const char *role, const char *text, size_t len)
{
    if (!LLMR_GROW(c->turns, c->cap_turns, c->n_turns + 1))
        return LLMR_ERR_NOMEM;
    char *copy = malloc(len + 1);
    if (!copy)
        return LLMR_ERR_NOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    c->turns[c->n_turns].role = !strcmp(role, "user") ? "user" : "assistant";
    c->turns[c->n_turns].content = copy;
    c->n_turns++;
    return LLMR_OK;
}

static void drop_first_turns(chat *c, size_t k)
{
    for (size_t i = 0; i < k; i++)
        free(c->turns[i].content);
    memmove(c->turns, c->turns + k, (c->n_turns - k) * sizeof *c->turns);
    c->n_turns -= k;
}

/* Renders system + turns with the model's template into *out (malloc'd). */
static int render(chat *c, char **out, char *err, size_t errlen)
{
    size_t n = c->n_turns + 1, k = 0;
    llmr_chat_msg *msgs = malloc(n * sizeof *msgs);
    if (!msgs)
        return LLMR_ERR_NOMEM;
    if (c->system)
        msgs[k++] = (llmr_chat_msg){"system", c->system};
    for (size_t i = 0; i < c->n_turns; i++)
        msgs[k++] = (llmr_chat_msg){c->turns[i].role, c->turns[i].content};
    int rc = llmr_chat_prompt(c->m, msgs, k, out, err, errlen);
    free(msgs);
    return rc;
}

static long count_tokens(chat *c, const char *text)
{
    size_t n = 0;
    int rc = llmr_tokenize(c->tok, text, strlen(text), LLMR_TOK_PARSE_SPECIAL, NULL, 0, &n);
    if (rc == LLMR_ERR_TOO_BIG || rc == LLMR_OK)
        return (long)n;
    return -1;
}

/* Renders the conversation so that it fits the context with room for the reply, dropping the
 * oldest exchanges (with a notice) as needed. On success *prompt is the text and *room the
 * tokens left for the reply. */
static int fit_context(chat *c, char **prompt, long *room)
{
    char err[512];
    long want = c->g.o.max_tokens > 0 ? c->g.o.max_tokens : c->n_ctx / 4;
    if (want > c->n_ctx / 2)
        want = c->n_ctx / 2;
    for (;;) {
        *prompt = NULL;
        int rc = render(c, prompt, err, sizeof err);
        if (rc != LLMR_OK) {
            chat_note(c, "the chat template failed: %s", err);
            return rc;
        }
        long used = count_tokens(c, *prompt);
        if (used < 0) {
            free(*prompt);
            return LLMR_ERR_NOMEM;
        }
        if (used + want <= c->n_ctx || c->n_turns <= 1) {
            *room = c->n_ctx - used;
            if (*room < 1) {
                chat_note(c, "your message is %ld tokens with the template; the context holds "
                          "%d: shorten it (or start llmr chat with a larger -c)", used, c->n_ctx);
                free(*prompt);
                return LLMR_ERR_CONTEXT;
            }
            return LLMR_OK;
        }
        free(*prompt);
        /* The oldest exchange: a user turn and the reply that followed it. */
        size_t k = c->n_turns >= 3 && !strcmp(c->turns[1].role, "assistant") ? 2 : 1;
        chat_note(c, "(the conversation is longer than the context of %d tokens: dropped the "
                  "oldest %s)", c->n_ctx, k == 2 ? "exchange" : "message");
        drop_first_turns(c, k);
    }
}

/* Streams one reply to the conversation's last user turn and records it. */
static int reply(chat *c)
{
    char *prompt;
    long room;
    int rc = fit_context(c, &prompt, &room);
    if (rc != LLMR_OK) {
        free(c->turns[--c->n_turns].content);   /* the user turn that could not be answered */
        return rc;
    }
    llmr_gen_opts o = c->g.o;
    o.add_bos = false;             /* the template writes BOS itself when the model wants one */
    /* a reply that the context, not -n, bounds: its "length" end means a full context */
    bool ctx_bound = o.max_tokens == 0 || o.max_tokens >= room;
    if (ctx_bound)
        o.max_tokens = (int32_t)room;
    llmr_stream *s;
    rc = llmr_stream_open(c->m, prompt, &o, &s);
    free(prompt);
    if (rc != LLMR_OK) {
        chat_note(c, "cannot reply: %s", llmr_stream_errmsg(s));
        llmr_stream_close(s);
        free(c->turns[--c->n_turns].content);
        return rc;
    }
    set_active(s);
    llmr_piece p;
    size_t skipped = 0;     /* leading whitespace of the reply ("Assistant: Hi" -> "Hi") */
    bool started = false;
    while ((rc = llmr_stream_next(s, &p)) == LLMR_PIECE) {
        size_t k = 0;
        while (!started && k < p.len && strchr(" \t\r\n", p.text[k]))
            k++;
        skipped += k;
        started = started || k < p.len;
        fwrite(p.text + k, 1, p.len - k, stdout);
        fflush(stdout);
    }
    set_active(NULL);
    size_t len;
    const char *text = llmr_stream_text(s, &len);
    text += skipped;
    len -= skipped;
    fputc('\n', stdout);
    fflush(stdout);
    llmr_stream_usage(s, &c->last);
    c->have_last = true;
    c->last_context = ctx_bound && c->last.finish == LLMR_FINISH_LENGTH;
    if (rc != LLMR_DONE) {
        chat_note(c, "the reply failed: %s", llmr_stream_errmsg(s));
        free(c->turns[--c->n_turns].content);
    } else {
        if (c->last.finish == LLMR_FINISH_CANCELLED)
            chat_note(c, "(reply stopped)");
        else if (c->last_context)
            chat_note(c, "(the reply was cut short: the context of %d tokens is full; "
                      "finish: context)", c->n_ctx);
        /* Keep what the user saw, also of a stopped reply, so the history matches the screen. */
        rc = chat_add_turn(c, "assistant", text, len);
    }
    llmr_stream_close(s);
    return rc;
}

/* ---- one line of input ------------------------------------------------------------------ */

void chat_note(chat *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    FILE *to = c->tty ? stdout : stderr;
    vfprintf(to, fmt, ap);
    fputc('\n', to);
    fflush(to);
    va_end(ap);
}

/* A user message: made valid UTF-8, added, answered. */
static int user_turn(chat *c, const char *line, size_t len)
{
    size_t clean_len;
    bool replaced;
    char *clean = chat_utf8_clean(line, len, &clean_len, &replaced);
    if (!clean)
        return LLMR_ERR_NOMEM;
    if (replaced)
        chat_note(c, "(your message had invalid UTF-8; those bytes became U+FFFD)");
    int rc = chat_add_turn(c, "user", clean, clean_len);
    free(clean);
    if (rc != LLMR_OK)
        return rc;
    set_busy(true);
    rc = reply(c);
    set_busy(false);
    return rc;
}

int chat_handle_line(chat *c, const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    if (start == len)
        return CHAT_CONTINUE;
    if (line[start] == '/' && len - start < 4096 && chat_is_command(line + start, len - start))
        return chat_command(c, line + start, len - start);
    int rc = user_turn(c, line, len);
    return rc == LLMR_ERR_NOMEM ? CHAT_FAIL : CHAT_CONTINUE;
}

/* ---- the command ------------------------------------------------------------------------ */

static int parse_args(chat *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int rc = gen_flags_parse(&c->g, argc, argv, &i);
        if (rc == CLI_USAGE)
            return rc;
        if (rc == CLI_OK)
            continue;
        if (!strcmp(argv[i], "--system") && i + 1 < argc)
            c->system_flag = argv[++i];
        else if (!strcmp(argv[i], "--history") && i + 1 < argc)
            c->history_path = argv[++i];
        else if (argv[i][0] == '-')
            return cli_usage_error("chat", "unknown option %s", argv[i]);
        else if (!c->g.model)
            c->g.model = argv[i];
        else
            return cli_usage_error("chat", "unexpected argument '%s'", argv[i]);
    }
    if (!c->g.model)
        return cli_usage_error("chat", "no model: give -m MODEL (a file, a name or an alias)");
    if (c->g.no_gen)
        return cli_usage_error("chat", "-n 0 would generate no reply: give 1..%d, or -1 for "
                               "until the context is full", LLMR_MAX_GEN_TOKENS);
    char msg[512];
    if (llmr_gen_validate(&c->g.o, msg, sizeof msg) != LLMR_OK)
        return cli_usage_error("chat", "%s", msg);
    return CLI_OK;
}

static int open_model(chat *c)
{
    llmr_model_opts mo = llmr_model_defaults();
    mo.n_threads = (int)c->g.threads;
    mo.n_ctx = (int)c->g.ctx;
    mo.kv_type = c->g.ctk;
    mo.kv_type_v = c->g.ctv;
    char path[4096];
    if (!cli_model_path("chat", c->g.model, path, sizeof path))
        return CLI_BAD_INPUT;
    if (llmr_model_open(path, &mo, &c->m) != LLMR_OK)
        return cli_fail("chat", "%s", llmr_model_errmsg(c->m));
    llmr_err err;
    llmri_err_clear(&err);
    if (llmri_local_tokenizer(c->m, &c->tok, &err) != LLMR_OK)
        return cli_fail("chat", "%s", err.msg);
    c->n_ctx = llmri_model_n_ctx(c->m);
    return CLI_OK;
}

void chat_free(chat *c)
{
    turns_clear(c);
    free(c->turns);
    free(c->system);
    llmr_model_close(c->m);
}

int chat_set_system(chat *c, const char *text)
{
    char *copy = NULL;
    if (text && *text && !(copy = llmri_strdup(text)))
        return LLMR_ERR_NOMEM;
    free(c->system);
    c->system = copy;
    return LLMR_OK;
}

void chat_reset(chat *c) { turns_clear(c); }

int cmd_chat(int argc, char **argv)
{
    chat c;
    memset(&c, 0, sizeof c);
    gen_flags_init(&c.g, "chat");
    int rc = parse_args(&c, argc, argv);
    if (rc != CLI_OK)
        return rc;
    c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

    /* Block SIGINT before any thread exists, so that every thread (the model's pool too)
     * inherits the mask and only the sigwait thread sees Ctrl-C. */
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sig_exit_idle = !c.tty;
    pthread_t sig_thread;
    bool have_thread = pthread_create(&sig_thread, NULL, sigint_thread, &set) == 0;

    if ((rc = open_model(&c)) == CLI_OK && (!c.system_flag ||
                                             chat_set_system(&c, c.system_flag) == LLMR_OK)) {
        if (c.tty)
            printf("llmr chat: %s, context %d tokens. /help lists commands; Ctrl-D or /bye "
                   "exits.\n", c.g.model, c.n_ctx);
        rc = chat_loop(&c) == CHAT_FAIL ? CLI_BAD_INPUT : CLI_OK;
    }
    if (have_thread) {
        pthread_mutex_lock(&sig_mu);
        sig_quit = true;
        pthread_mutex_unlock(&sig_mu);
        pthread_kill(sig_thread, SIGINT);
        pthread_join(sig_thread, NULL);
    }
    chat_free(&c);
    return rc;
}
