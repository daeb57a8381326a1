/*
 * fib.c - the README's example: fib(n) with a fiber per call, like
 * `go fib(n-1)` and a wait, on one worker per core.
 *
 *   examples/fib [N]        (default 30)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return (void *)n;
    weft_fiber child;
    void *a;
    if (weft_spawn(&child, fib, (void *)(n - 1), NULL) != 0) /* go fib(n-1) */
        abort();
    intptr_t b = (intptr_t)fib((void *)(n - 2));
    weft_join(child, &a); /* parks this fiber, never its worker */
    return (void *)((intptr_t)a + b);
}

int main(int argc, char **argv)
{
    intptr_t n = argc > 1 ? strtol(argv[1], NULL, 10) : 30;
    if (n < 0 || n > 40) {
        fprintf(stderr, "usage: fib [N], 0 <= N <= 40\n");
        return 2;
    }
    void *r;
    int64_t t0 = weft_now();
    int err = weft_main(NULL, fib, (void *)n, &r); /* one worker per core */
    if (err) {
        fprintf(stderr, "weft: %s\n", weft_strerror(err));
        return 1;
    }
    printf("fib(%ld) = %ld in %.1f ms\n", (long)n, (long)(intptr_t)r,
           (double)(weft_now() - t0) / 1e6);
    return 0;
}
