/*
 * child.h - run a test body in a child process with its stderr captured,
 * for behaviour that prints (reports, traces) or ends the process (abort).
 * The child has a 60 s alarm, so a body that hangs fails instead.
 */
#ifndef WT_TEST_CHILD_H
#define WT_TEST_CHILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

/* Run @body(@arg) in a child; its int result comes back in *@ret (1 if the
 * child died first), its stderr in @buf (NUL-terminated, truncated to
 * @len - 1). Returns the child's wait status. */
static inline int run_in_child(int (*body)(void *arg), void *arg, int *ret, char *buf, size_t len)
{
    int errpipe[2], retpipe[2];
    CHECK(pipe(errpipe) == 0 && pipe(retpipe) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(60);
        dup2(errpipe[1], 2);
        close(errpipe[0]);
        close(retpipe[0]);
        int r = body(arg);
        fflush(stderr);
        (void)!write(retpipe[1], &r, sizeof r);
        _exit(0);
    }
    close(errpipe[1]);
    close(retpipe[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < len && (n = read(errpipe[0], buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(errpipe[0]);
    if (read(retpipe[0], ret, sizeof *ret) != sizeof *ret)
        *ret = 1;
    close(retpipe[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

/* Print a child's stderr as TAP comments. */
static inline void show_child_output(const char *buf)
{
    printf("# child stderr:\n");
    for (const char *p = buf; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("#   %.*s\n", len, p);
        p += len + (nl != NULL);
    }
}

#endif /* WT_TEST_CHILD_H */
