/*
 * trace_prog.c - a small traced run for trace_json_test.py: on two workers,
 * a steal that is certain to happen, a ping-pong over a channel (parks and
 * wake-ups) and named fibers, so that the trace holds every kind of event.
 *
 *   trace_prog env        run under weft_main; WEFT_TRACE names the file
 *   trace_prog api FILE   weft_init, weft_trace_start(FILE) from a plain
 *                         thread, the same run, weft_trace_stop, shutdown
 *
 * Exit status 0 if the run went as planned (the checker then looks at the
 * file), 1 otherwise, with a line on stderr.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

enum { CHILDREN = 8, ROUNDS = 50 };

static _Atomic int ran_elsewhere; /* a child ran on a worker other than main's */
static _Atomic int main_worker;

/* A child spawned by a fiber that then never yields: it can only run on the
 * other worker, by stealing it from the spawner's deque. */
static void *child(void *arg)
{
    (void)arg;
    if (weft_worker_index() != atomic_load(&main_worker))
        atomic_store(&ran_elsewhere, 1);
    return NULL;
}

static void *ping(void *arg)
{
    weft_chan *ch = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (weft_chan_send(ch[0], &i) != 0 || weft_chan_recv(ch[1], &i) != 0)
            return (void *)1;
    }
    return NULL;
}

static void *pong(void *arg)
{
    weft_chan *ch = arg;
    for (int i = 0, v; i < ROUNDS; i++) {
        if (weft_chan_recv(ch[0], &v) != 0 || weft_chan_send(ch[1], &v) != 0)
            return (void *)1;
    }
    return NULL;
}

static int spawn_named(weft_fiber *f, weft_fn fn, void *arg, const char *name)
{
    weft_fiber_attr attr = {.name = name};
    return weft_spawn(f, fn, arg, &attr);
}

static void *run(void *arg)
{
    (void)arg;
    /* 1. A steal: spawn, then spin without yielding until a child has run
     *    elsewhere (or 10 s pass: then the checker finds no steal). */
    atomic_store(&main_worker, weft_worker_index());
    weft_fiber kids[CHILDREN];
    char names[CHILDREN][16];
    for (int i = 0; i < CHILDREN; i++) {
        snprintf(names[i], sizeof names[i], "child-%d", i);
        if (spawn_named(&kids[i], child, NULL, names[i]) != 0)
            return (void *)1;
    }
    int64_t give_up = weft_now() + 10 * (int64_t)1000000000;
    while (!atomic_load(&ran_elsewhere) && weft_now() < give_up)
        ;
    for (int i = 0; i < CHILDREN; i++)
        if (weft_join(kids[i], NULL) != 0)
            return (void *)1;
    if (!atomic_load(&ran_elsewhere)) {
        fprintf(stderr, "trace_prog: no child was stolen in 10 s\n");
        return (void *)1;
    }

    /* 2. Parks and wake-ups: a ping-pong over two unbuffered channels. */
    weft_chan ch[2];
    if (weft_chan_make(&ch[0], sizeof(int), 0) != 0 || weft_chan_make(&ch[1], sizeof(int), 0))
        return (void *)1;
    weft_fiber a, b;
    void *ra = (void *)1, *rb = (void *)1;
    if (spawn_named(&a, ping, ch, "ping") != 0 || spawn_named(&b, pong, ch, "pong") != 0)
        return (void *)1;
    if (weft_join(a, &ra) != 0 || weft_join(b, &rb) != 0 || ra || rb)
        return (void *)1;
    weft_chan_free(ch[0]);
    weft_chan_free(ch[1]);
    return NULL;
}

int main(int argc, char **argv)
{
    weft_config cfg = {.workers = 2};
    void *res = (void *)1;
    int r;
    if (argc == 2 && strcmp(argv[1], "env") == 0) {
        r = weft_main(&cfg, run, NULL, &res);
    } else if (argc == 3 && strcmp(argv[1], "api") == 0) {
        if ((r = weft_init(&cfg)) != 0)
            goto out;
        if ((r = weft_trace_start(argv[2])) != 0)
            goto out;
        weft_fiber root;
        weft_fiber_attr attr = {.name = "root"};
        if ((r = weft_spawn(&root, run, NULL, &attr)) != 0 || (r = weft_join(root, &res)) != 0)
            goto out;
        if ((r = weft_trace_stop()) != 0)
            goto out;
        r = weft_shutdown();
    } else {
        fprintf(stderr, "usage: trace_prog env | trace_prog api FILE\n");
        return 2;
    }
out:
    if (r || res) {
        fprintf(stderr, "trace_prog: %s\n", r ? weft_strerror(r) : "the run failed");
        return 1;
    }
    return 0;
}
