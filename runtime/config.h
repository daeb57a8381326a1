/*
 * config.h - the runtime's settings after merging weft_config with the
 * environment (WEFT_WORKERS, WEFT_PIN, WEFT_STACK_SIZE, WEFT_STACK_GUARD,
 * WEFT_DEBUG, WEFT_TRACE, WEFT_SPAWN, WEFT_DEADLOCK). A non-zero config field wins over the
 * environment, which is then not read at all; the environment wins over the
 * defaults. A bad value is
 * refused with a message on stderr that names it.
 */
#ifndef WT_CONFIG_H
#define WT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "weft.h"

enum spawn_policy {
    SPAWN_HELP_FIRST, /* child queued, parent goes on (default) */
    SPAWN_WORK_FIRST, /* child runs at once, parent's continuation is stealable */
};

struct wt_config {
    int workers;
    bool pin;
    size_t stack_size; /* page multiple */
    enum weft_guard guard;
    bool print_bind;     /* WEFT_DEBUG=bind */
    int schedtrace_ms;   /* WEFT_DEBUG=schedtrace=MS: 0 off */
    int stall_ms;        /* WEFT_DEBUG=stall=MS: 0 off; default 10 */
    bool sigquit;        /* WEFT_DEBUG=sigquit: SIGQUIT prints weft_dump */
    bool print_stats;    /* WEFT_DEBUG=stats: print the counters at weft_shutdown */
    const char *trace;   /* WEFT_TRACE: the trace file (the environment's string), or NULL */
    uint64_t sched_seed; /* WEFT_SCHED / weft_config.sched_seed: 0 = normal */
    bool sched_chaos;    /* WEFT_SCHED=chaos:N */
    enum spawn_policy spawn;
    bool poll_thread;            /* WEFT_POLL_THREAD=1: the dedicated poller (an experiment) */
    enum weft_deadlock deadlock; /* DEFAULT until the runtime's start resolves it */
};

/* Fill @out from @cfg (may be NULL) and the environment. @default_workers
 * is what the topology suggests. Returns 0 or -EINVAL. */
int wt_config_resolve(const weft_config *cfg, int default_workers, struct wt_config *out);

#endif /* WT_CONFIG_H */
