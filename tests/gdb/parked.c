/*
 * parked.c - the program tests/gdb/gdb_test.py debugs: on one worker, three
 * named fibers park on a channel and one in a join, then the main fiber
 * calls weft_gdb_test_stop_here(), where gdb stops (or, with "abort",
 * aborts, for a core file). Run alone, it releases them and exits 0.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

enum { RECEIVERS = 3 };

/* External and never inlined: the backtraces must name them, and gdb must
 * find the breakpoint. */
void *parked_receiver(void *arg);
void *parked_joiner(void *arg);
void weft_gdb_test_stop_here(void);

static weft_chan ch;
static _Atomic int started;

__attribute__((noinline)) void *parked_receiver(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    int v;
    int r = weft_chan_recv(ch, &v); /* parks until the channel closes */
    return r == -EPIPE ? NULL : (void *)1;
}

__attribute__((noinline)) void *parked_joiner(void *arg)
{
    weft_fiber *f = arg;
    atomic_fetch_add(&started, 1);
    return weft_join(*f, NULL) == 0 ? NULL : (void *)1; /* parks in the join */
}

__attribute__((noinline)) void weft_gdb_test_stop_here(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *run(void *arg)
{
    const char *mode = arg;
    if (weft_chan_make(&ch, sizeof(int), 0) != 0)
        return (void *)1;
    weft_fiber f[RECEIVERS + 1];
    for (int i = 0; i < RECEIVERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "recv-%d", i);
        weft_fiber_attr attr = {.name = name};
        if (weft_spawn(&f[i], parked_receiver, NULL, &attr) != 0)
            return (void *)1;
    }
    weft_fiber_attr attr = {.name = "joiner"};
    if (weft_spawn(&f[RECEIVERS], parked_joiner, &f[0], &attr) != 0)
        return (void *)1;
    /* One worker: once we run again, each that started has switched out,
     * and it can only have parked. */
    while (atomic_load(&started) < RECEIVERS + 1)
        weft_yield();
    weft_gdb_test_stop_here();
    if (strcmp(mode, "abort") == 0)
        abort();
    weft_chan_close(ch);
    void *res = NULL;
    for (int i = 1; i <= RECEIVERS; i++) /* the joiner reaps recv-0 */
        if (weft_join(f[i], &res) != 0 || res)
            return (void *)1;
    weft_chan_free(ch);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "run";
    void *res = (void *)1;
    int r = weft_main(&(weft_config){.workers = 1}, run, (void *)mode, &res);
    if (r || res) {
        fprintf(stderr, "parked: %s\n", r ? weft_strerror(r) : "failed");
        return 1;
    }
    return 0;
}
