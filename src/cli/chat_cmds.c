/* chat_cmds.c - input, slash commands and conversation files of `llmr chat`. */
#include "cli/chat.h"
#include "core/json.h"
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef LLMR_HAVE_EDIT
#include <editline/readline.h>
#endif

enum {
    CHAT_MAX_LINE = 1 << 20,          /* bytes in one message; longer input is refused */
    CHAT_MAX_FILE = 16 << 20,         /* bytes in a /load file */
    CHAT_HISTORY_LINES = 1000,
};

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

char *chat_utf8_clean(const char *s, size_t len, size_t *out_len, bool *replaced)
{
    char *out = len < SIZE_MAX / 3 ? malloc(len * 3 + 1) : NULL;   /* each byte -> at most 3 */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    *replaced = false;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_valid_len(p + i, len - i);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            *replaced = true;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* ---- conversation files ----------------------------------------------------------------- */

/* Writes {"messages": [{"role": ..., "content": ...}, ...]}, the shape `llmr template
 * --messages` and OpenAI's API read. */
static int save(chat *c, const char *path)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    if (c->system) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", c->system);
        cJSON_AddItemToArray(msgs, m);
    }
    for (size_t i = 0; i < c->n_turns; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", c->turns[i].role);
        cJSON_AddStringToObject(m, "content", c->turns[i].content);
        cJSON_AddItemToArray(msgs, m);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(path, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = false;
    free(text);
    if (!ok) {
        chat_note(c, "cannot save to %s", path);
        return CHAT_CONTINUE;
    }
    chat_note(c, "saved %zu messages to %s", c->n_turns + (c->system != NULL), path);
    return CHAT_CONTINUE;
}

/* Checks the whole file before touching the conversation, so a bad file changes nothing. */
static const char *check_messages(const cJSON *msgs)
{
    if (!cJSON_IsArray(msgs))
        return "expected a JSON array of messages, or an object with a \"messages\" array";
    int i = 0;
    for (const cJSON *m = msgs->child; m; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            return "every message needs string \"role\" and \"content\"";
        const char *r = role->valuestring;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))
            return "a role is not system, user or assistant";
        if (!strcmp(r, "system") && i != 0)
            return "a system message may only come first";
    }
    return NULL;
}

static int load(chat *c, const char *path)
{
    size_t len;
    char *text = cli_read_file(path, CHAT_MAX_FILE, &len);
    if (!text) {
        chat_note(c, "cannot load %s: missing, unreadable, or over %d MiB", path,
                  CHAT_MAX_FILE >> 20);
        return CHAT_CONTINUE;
    }
    bool shallow = llmri_json_depth_ok(text, len, LLMR_JSON_MAX_DEPTH, NULL);
    cJSON *root = shallow ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    const cJSON *msgs = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "messages")
                                             : root;
    const char *why = root ? check_messages(msgs) : shallow ? "not valid JSON"
                                                            : "JSON nested too deep";
    if (why) {
        chat_note(c, "cannot load %s: %s; the conversation is unchanged", path, why);
        cJSON_Delete(root);
        return CHAT_CONTINUE;
    }
    chat_reset(c);
    chat_set_system(c, NULL);
    size_t n = 0;
    for (const cJSON *m = msgs->child; m; m = m->next, n++) {
        const char *role = cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
        const char *content = cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring;
        if (!strcmp(role, "system"))
            chat_set_system(c, content);
        else
            chat_add_turn(c, role, content, strlen(content));
    }
    cJSON_Delete(root);
    chat_note(c, "loaded %zu messages from %s", n, path);
    return CHAT_CONTINUE;
}

/* ---- slash commands --------------------------------------------------------------------- */

static const char *const help_text =
    "/help              this list\n"
    "/bye               exit (Ctrl-D too)\n"
    "/reset             forget the conversation (the system prompt stays)\n"
    "/system TEXT       set the system prompt (empty TEXT removes it)\n"
    "/set NAME VALUE    change a setting: temp, top_k, top_p, min_p, typical, repeat_penalty,\n"
    "                   repeat_last_n, presence_penalty, frequency_penalty, seed, max_tokens\n"
    "/save FILE         write the conversation as JSON\n"
    "/load FILE         replace the conversation with one saved by /save\n"
    "/stats             tokens, speed and time to first token of the last reply\n"
    "\"\"\"               begin or end a multi-line message\n"
    "Ctrl-C stops a reply in progress.";

static const char *const commands[] = {"help", "bye", "exit", "quit", "reset", "clear",
                                       "system", "set", "save", "load", "stats", "?"};

/* The command word of line ("/set temp 1" -> "set") and its argument after spaces. */
static void split(const char *line, size_t len, char *word, size_t wcap, const char **arg)
{
    size_t i = 1, w = 0;
    while (i < len && line[i] != ' ' && line[i] != '\t') {
        if (w + 1 < wcap)
            word[w++] = line[i];
        i++;
    }
    word[w] = '\0';
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    *arg = line + i;
}

bool chat_is_command(const char *line, size_t len)
{
    char word[16];
    const char *arg;
    split(line, len, word, sizeof word, &arg);
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(word, commands[k]))
            return true;
    /* "/something" that is not a command: tell the user instead of sending it to the model,
     * unless it looks like a path ("/usr/bin ..."), which is ordinary text. */
    return !strchr(word, '/') && word[0];
}

static int stats(chat *c)
{
    if (!c->have_last) {
        chat_note(c, "no reply yet");
        return CHAT_CONTINUE;
    }
    const llmr_usage *u = &c->last;
    chat_note(c, "last reply: %u tokens in %.2f s (%.1f tokens/s); prompt %u tokens (%u from "
              "the cache) in %.2f s (%.1f tokens/s); time to first token %.0f ms; finish: %s",
              u->generated_tokens, u->gen_s, u->gen_tps, u->prompt_tokens, u->cached_tokens,
              u->prompt_s, u->prompt_tps, u->ttft_s * 1e3,
              c->last_context ? "context" : llmr_finish_name(u->finish));
    return CHAT_CONTINUE;
}

int chat_command(chat *c, const char *line, size_t len)
{
    char word[16], arg[4096];
    const char *a;
    split(line, len, word, sizeof word, &a);
    size_t alen = (size_t)(line + len - a);
    if (alen >= sizeof arg)
        alen = sizeof arg - 1;
    memcpy(arg, a, alen);
    arg[alen] = '\0';
    while (alen && (arg[alen - 1] == ' ' || arg[alen - 1] == '\t'))
        arg[--alen] = '\0';
    if (!strcmp(word, "bye") || !strcmp(word, "exit") || !strcmp(word, "quit"))
        return CHAT_EXIT;
    if (!strcmp(word, "help") || !strcmp(word, "?")) {
        chat_note(c, "%s", help_text);
    } else if (!strcmp(word, "reset") || !strcmp(word, "clear")) {
        chat_reset(c);
        chat_note(c, "conversation cleared");
    } else if (!strcmp(word, "system")) {
        if (chat_set_system(c, arg) != LLMR_OK)
            return CHAT_FAIL;
        chat_note(c, alen ? "system prompt set" : "system prompt removed");
    } else if (!strcmp(word, "set")) {
        char *value = strchr(arg, ' ');
        char err[512];
        if (!value) {
            chat_note(c, "usage: /set NAME VALUE (see /help)");
            return CHAT_CONTINUE;
        }
        *value++ = '\0';
        while (*value == ' ')
            value++;
        if (gen_flags_set(&c->g, arg, value, err, sizeof err) != LLMR_OK)
            chat_note(c, "/set: %s", err);
        else
            chat_note(c, "%s = %s", arg, value);
    } else if (!strcmp(word, "save") || !strcmp(word, "load")) {
        if (!alen) {
            chat_note(c, "usage: /%s FILE", word);
            return CHAT_CONTINUE;
        }
        return word[0] == 's' ? save(c, arg) : load(c, arg);
    } else if (!strcmp(word, "stats")) {
        return stats(c);
    } else {
        chat_note(c, "unknown command /%s; /help lists them", word);
    }
    return CHAT_CONTINUE;
}

/* ---- input ------------------------------------------------------------------------------ */

typedef struct input {
    chat *c;
    char *buf;          /* getline's buffer (pipe mode) */
    size_t cap;
    long line_no;
    char history[1024];
} input;

/* One line without its newline, malloc'd; NULL at end of input. */
static char *read_line(input *in, const char *prompt, size_t *len)
{
    in->line_no++;
#ifdef LLMR_HAVE_EDIT
    if (in->c->tty) {
        char *l = readline(prompt);
        if (l)
            *len = strlen(l);
        return l;
    }
#endif
    if (in->c->tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    ssize_t n = getline(&in->buf, &in->cap, stdin);
    if (n < 0)
        return NULL;
    while (n && (in->buf[n - 1] == '\n' || in->buf[n - 1] == '\r'))
        n--;
    char *l = malloc((size_t)n + 1);
    if (l) {
        memcpy(l, in->buf, (size_t)n);
        l[n] = '\0';
        *len = (size_t)n;
    }
    return l;
}

static bool ends_with_quotes(const char *s, size_t n)
{
    return n >= 3 && !memcmp(s + n - 3, "\"\"\"", 3);
}

/* A line, or a """ block of lines joined by newlines (without the quotes). */
static char *read_message(input *in, size_t *len)
{
    char *line = read_line(in, ">>> ", len);
    if (!line || strncmp(line, "\"\"\"", 3))
        return line;
    size_t n = *len - 3;
    memmove(line, line + 3, n + 1);
    if (ends_with_quotes(line, n)) {
        line[n - 3] = '\0';
        *len = n - 3;
        return line;
    }
    for (;;) {
        size_t m;
        char *more = read_line(in, "... ", &m);
        bool first = n == 0;     /* `"""` alone opens the block: no leading newline */
        if (!more)
            break;
        bool last = ends_with_quotes(more, m);
        if (last)
            m -= 3;
        char *joined = n + m < CHAT_MAX_LINE ? realloc(line, n + m + 2) : NULL;
        if (!joined) {
            free(more);
            free(line);
            *len = CHAT_MAX_LINE;
            return strdup("");    /* reported as too long by the caller */
        }
        line = joined;
        if (!first)
            line[n++] = '\n';
        memcpy(line + n, more, m);
        n += m;
        line[n] = '\0';
        free(more);
        if (last)
            break;
    }
    *len = n;
    return line;
}

static void history_open(input *in)
{
#ifdef LLMR_HAVE_EDIT
    const char *path = in->c->history_path ? in->c->history_path : getenv("LLMR_HISTORY");
    const char *home = getenv("HOME");
    if (path)
        snprintf(in->history, sizeof in->history, "%s", path);
    else if (home)
        snprintf(in->history, sizeof in->history, "%s/.llmr_history", home);
    if (in->c->tty && in->history[0]) {
        using_history();
        stifle_history(CHAT_HISTORY_LINES);
        read_history(in->history);
    }
#else
    (void)in;
#endif
}

static void history_add(input *in, const char *line)
{
#ifdef LLMR_HAVE_EDIT
    if (in->c->tty && *line) {
        add_history(line);
        if (in->history[0])
            write_history(in->history);
    }
#else
    (void)in;
    (void)line;
#endif
}

int chat_loop(chat *c)
{
    input in = {.c = c};
    history_open(&in);
    int rc = CHAT_CONTINUE;
    while (rc == CHAT_CONTINUE) {
        size_t len = 0;
        char *msg = read_message(&in, &len);
        if (!msg)
            break;
        if (len >= CHAT_MAX_LINE) {
            chat_note(c, "line %ld: message too long (%zu bytes; the limit is %d MiB), skipped",
                      in.line_no, len, CHAT_MAX_LINE >> 20);
        } else {
            history_add(&in, msg);
            rc = chat_handle_line(c, msg, len);
        }
        free(msg);
    }
    if (c->tty && rc != CHAT_EXIT)
        fputc('\n', stdout);
    free(in.buf);
    return rc == CHAT_FAIL ? CHAT_FAIL : CHAT_EXIT;
}
