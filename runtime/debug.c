/*
 * debug.c - wt_fatal: the one place a broken invariant ends the process.
 */
#include <stdio.h>
#include <stdlib.h>

#include "debug.h"
#include "fiber.h"
#include "worker.h"

_Noreturn void wt_fatal(const char *file, int line, const char *msg)
{
    struct worker *w = wt_worker_self();
    struct fiber *f = w ? w->current : NULL;
    fprintf(stderr, "weft: %s:%d: %s (worker %d, fiber %s%s%s)\n", file, line, msg,
            w ? w->index : -1, f ? "'" : "", f ? wt_fiber_name(f) : "none", f ? "'" : "");
    fflush(stderr);
    abort();
}
