/*
 * dump.c - weft_dump: one line per fiber (number, name, handle, state, what
 * it waits on, where it was spawned). The deadlock report prints the same
 * lines (wt_dump_fiber).
 *
 * It reads other threads' fibers while they run, so it reads only what is
 * published for that: the sync word, w->running, and for a parked fiber the
 * struct wait that `waiting` points to (stored with release after the wait
 * was filled in, loaded here with acquire) - a parked fiber cannot change
 * those under us until it is readied, and if it is, the line is a moment
 * out of date, never a crash (its stack stays mapped).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "deadlock.h"
#include "dump.h"
#include "fiber.h"
#include "fiber_table.h"
#include "os.h"
#include "runtime.h"
#include "wait.h"
#include "worker.h"

static int running_on(struct runtime *rt, const struct fiber *f)
{
    for (int i = 0; i < rt->nworkers; i++)
        if (atomic_load_explicit(&rt->workers[i].running, memory_order_acquire) == f)
            return i;
    return -1;
}

static void print_site(FILE *out, const void *site)
{
    Dl_info info;
    if (site && dladdr(site, &info) && info.dli_sname)
        fprintf(out, " spawned at %p (%s+0x%lx)", site, info.dli_sname,
                (unsigned long)((const char *)site - (const char *)info.dli_saddr));
    else if (site)
        fprintf(out, " spawned at %p", site);
}

bool wt_dump_fiber(FILE *out, struct runtime *rt, struct fiber *f, int64_t now)
{
    uint64_t s = atomic_load_explicit(&f->sync, memory_order_acquire);
    if (s & FIBER_FREE)
        return false;
    fprintf(out, "fiber %u \"%s\" (handle 0x%016llx) ", f->index + 1, wt_fiber_name(f),
            (unsigned long long)wt_fiber_handle(f, s).id);
    if (s & FIBER_EXITED) {
        fputs((s & FIBER_DETACHED) ? "[exited]\n" : "[exited, not yet joined]\n", out);
        return true;
    }
    int on = running_on(rt, f);
    const struct wait *wt = atomic_load_explicit(&f->waiting, memory_order_acquire);
    if (on >= 0) {
        fprintf(out, "[running on worker %d]\n", on);
    } else if (wt) {
        fprintf(out, "[%s %p", wt_wait_kind_name(wt->kind), wt->obj);
        if (wt->deadline >= 0)
            fprintf(out, ", deadline in %.3f ms", (double)(wt->deadline - now) / 1e6);
        if (wt->w)
            fprintf(out, ", parked on worker %d", wt->w->index);
        fputc(']', out);
        /* A parked fiber is not writing its result: the site is still there. */
        print_site(out, f->spawn_site);
        fputc('\n', out);
    } else {
        fputs("[runnable]\n", out);
    }
    return true;
}

struct walk {
    FILE *out;
    struct runtime *rt;
    int64_t now;
    int count;
};

static void dump_one(struct fiber *f, void *arg)
{
    struct walk *wk = arg;
    if (wt_dump_fiber(wk->out, wk->rt, f, wk->now))
        wk->count++;
}

int wt_dump_all(FILE *out, struct runtime *rt)
{
    struct walk wk = {out, rt, wt_os_now(), 0};
    flockfile(out);
    fprintf(out, "weft: %d workers, fibers:\n", rt->nworkers);
    wt_fiber_table_each(rt->ft, dump_one, &wk);
    funlockfile(out);
    fflush(out);
    return wk.count;
}

int weft_dump(FILE *out)
{
    if (!out)
        return -EINVAL;
    struct worker *w = wt_worker_self();
    if (w ? !wt_rt_running() : wt_foreign_enter() != 0)
        return -ECANCELED;
    int saved = errno;
    int n = wt_dump_all(out, &wt_rt);
    errno = saved;
    if (!w)
        wt_foreign_leave();
    return n;
}
