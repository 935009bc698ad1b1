/* mock_server.h - starts and stops tests/router/oai_mock.py (an OpenAI-compatible streaming
 * server) from a cmocka test. Needs python3 and $LLMR_SRC (set by CTest). */
#ifndef LLMR_TEST_MOCK_SERVER_H
#define LLMR_TEST_MOCK_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct mock_server {
    pid_t pid;
    int   port;
    char  url[64];
    char  dir[64];          /* a temporary directory holding the port file and the log */
    char  log[128];
} mock_server;

/* Starts the mock with `name` and up to 6 extra arguments (NULL-terminated) without waiting
 * for it to listen; false when python3 or the script is missing (the caller skips). */
__attribute__((noinline, unused)) static bool mock_spawn(mock_server *m, const char *name, const char *const *extra)
{
    const char *src = getenv("LLMR_SRC");
    char script[512];
    snprintf(script, sizeof script, "%s/tests/router/oai_mock.py", src ? src : ".");
    struct stat st;
    if (stat(script, &st) != 0 || system("python3 -c pass >/dev/null 2>&1") != 0)
        return false;
    strcpy(m->dir, "/tmp/llmr-mock-XXXXXX");
    if (!mkdtemp(m->dir))
        return false;
    char portf[128];
    snprintf(portf, sizeof portf, "%s/port", m->dir);
    snprintf(m->log, sizeof m->log, "%s/log", m->dir);
    const char *argv[20] = {"python3", script, "--port-file", portf, "--name", name, "--log",
                            m->log};
    int k = 8;
    for (int i = 0; extra && extra[i] && k < 18; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    m->pid = fork();
    if (m->pid == 0) {
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    return m->pid > 0;
}

/* Waits until a spawned mock listens (its port file appears); false after 20 s. */
static inline bool mock_wait(mock_server *m)
{
    char portf[128];
    snprintf(portf, sizeof portf, "%s/port", m->dir);
    for (int i = 0; i < 400; i++) {          /* up to 20 s under a loaded machine */
        FILE *f = fopen(portf, "r");
        if (f) {
            int ok = fscanf(f, "%d", &m->port);
            fclose(f);
            if (ok == 1) {
                snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d", m->port);
                return true;
            }
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static inline bool mock_start(mock_server *m, const char *name, const char *const *extra)
{
    return mock_spawn(m, name, extra) && mock_wait(m);
}

/* Kills the server (SIGKILL: a backend dying without notice) and removes its files. */
static inline void mock_kill(mock_server *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGKILL);
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
    }
}

static inline void mock_stop(mock_server *m)
{
    mock_kill(m);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (m->dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", m->dir);
}

/* Number of lines in the server's request log holding `needle`. */
static inline int mock_log_count(const mock_server *m, const char *needle)
{
    FILE *f = fopen(m->log, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

#endif
