/*
 * dump.h - printing fibers for people: weft_dump, the SIGQUIT dump and the
 * deadlock report share these.
 */
#ifndef WT_DUMP_H
#define WT_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct fiber;
struct runtime;

/* Print @f's line on @out (@now: for deadlines). False if @f is free. */
bool wt_dump_fiber(FILE *out, struct runtime *rt, struct fiber *f, int64_t now);

/* Print every fiber of @rt; returns how many. */
int wt_dump_all(FILE *out, struct runtime *rt);

#endif /* WT_DUMP_H */
