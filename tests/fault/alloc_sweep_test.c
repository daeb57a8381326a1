/*
 * alloc_sweep_test.c - every allocation and every mapping the runtime makes
 * in each scenario fails once, in turn (sweep.h): each failing run returns
 * -ENOMEM (or the scenario's documented code) and leaves nothing behind,
 * and weft_shutdown() then says exactly what it should.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sweep.h"

static const weft_config one = {.workers = 1, .pin = WEFT_PIN_OFF};

/* The scenarios' runtime: one worker, or two (sweep_both). */
static weft_config scen = {.workers = 1, .pin = WEFT_PIN_OFF};

/* Sweep @s on one worker, then on two: fibers then migrate and are stolen
 * between the failure and its clean-up. */
static void sweep_both(const struct sweep *s)
{
    for (int w = 1; w <= 2; w++) {
        struct sweep t = *s;
        char name[64];
        snprintf(name, sizeof name, "%s, %d worker%s", s->name, w, w > 1 ? "s" : "");
        t.name = name;
        scen.workers = w;
        EXPECT(sweep_run(&t) > 0);
    }
    scen.workers = 1;
}

/* Fibers that yield until every worker has run one of them (or 5 s). */
static _Atomic unsigned seen_workers;

static void *visit(void *arg)
{
    unsigned all = (unsigned)(uintptr_t)arg;
    int64_t until = weft_deadline_after(5 * 1000000000ll);
    while ((atomic_fetch_or(&seen_workers, 1u << weft_worker_index()) |
            1u << weft_worker_index()) != all &&
           weft_now() < until)
        weft_yield();
    return NULL;
}

/* Start the runtime unarmed and have every worker run a fiber, so that
 * each has finished starting (alternate signal stack, a pool of stacks,
 * a fiber cache) before the swept part begins: then which worker runs
 * what does not change which allocations a run makes. */
static void up(const weft_config *cfg)
{
    CHECK_OK(weft_init(cfg));
    int n = weft_workers();
    unsigned all = (1u << n) - 1;
    atomic_store(&seen_workers, 0);
    weft_fiber f[8];
    for (int i = 0; i < n && i < 8; i++)
        CHECK_OK(weft_spawn(&f[i], visit, (void *)(uintptr_t)all, NULL));
    for (int i = 0; i < n && i < 8; i++)
        CHECK_OK(weft_join(f[i], NULL));
    EXPECT_EQ(atomic_load(&seen_workers), all);
}

static void down(struct outcome *out)
{
    out->shutdown = weft_shutdown();
    out->want_shutdown = 0;
}

/* weft_init and weft_shutdown: topology, tables, deques, poller, workers,
 * and (with_monitor) the monitor thread with schedtrace on. */

static void run_init_plain(struct outcome *out)
{
    run_init(out, "stall=0", &(weft_config){.workers = 2});
}

static void run_init_monitor(struct outcome *out)
{
    run_init(out, "schedtrace=1000", &one);
}

TEST(init_and_shutdown_fail_cleanly_at_every_allocation)
{
    static const struct sweep s = {"init", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_init_plain};
    EXPECT(sweep_run(&s) > 0);
}

TEST(monitor_start_fails_cleanly_at_every_allocation)
{
    static const struct sweep s = {"init+monitor",  WT_FAULT_ALLOC, 0, {-ENOMEM}, 0,
                                   run_init_monitor};
    EXPECT(sweep_run(&s) > 0);
}

/* spawn and join, from a plain thread and from a fiber; a child with a
 * stack of its own size (a region of its own), and a sleep (the timer
 * heap's first growth). */

static void *parent(void *arg)
{
    (void)arg;
    int op = 0;
    weft_fiber b, c;
    weft_fiber_attr big = {.stack_size = 256 * 1024};
    int rb = weft_spawn(&b, identity, NULL, &big);
    int rc = weft_spawn(&c, identity, NULL, NULL);
    first(&op, rb);
    first(&op, rc);
    first(&op, weft_sleep(1000000));
    if (!rb)
        join_into(&op, b);
    if (!rc)
        join_into(&op, c);
    return (void *)(intptr_t)op;
}

static void run_spawn(struct outcome *out)
{
    up(&scen);
    sweep_arm();
    spawn_join_into(&out->op, parent, NULL, NULL);
    down(out);
}

TEST(spawn_and_join_fail_cleanly_at_every_allocation)
{
    static const struct sweep s = {"spawn+join", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_spawn};
    sweep_both(&s);
}

/* The first spawn of a fresh runtime (the fiber table's first chunk, the
 * first stack region), and weft_main, which starts, spawns its root fiber
 * and shuts down in one call. */

static void run_first_spawn(struct outcome *out)
{
    CHECK_OK(weft_init(&scen));
    sweep_arm();
    spawn_join_into(&out->op, identity, NULL, NULL);
    down(out);
}

static void run_main(struct outcome *out)
{
    sweep_arm();
    void *res = NULL;
    int r = weft_main(&scen, parent, NULL, &res);
    first(&out->op, r);
    if (!r)
        first(&out->op, (int)(intptr_t)res);
    out->shutdown = weft_shutdown();
    out->want_shutdown = -ECANCELED; /* weft_main stopped it, whatever happened */
}

TEST(first_spawn_and_weft_main_fail_cleanly_at_every_allocation)
{
    static const struct sweep first_spawn = {"first spawn",  WT_FAULT_ALLOC, 0, {-ENOMEM}, 0,
                                             run_first_spawn};
    static const struct sweep main_run = {"weft_main", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_main};
    sweep_both(&first_spawn);
    sweep_both(&main_run);
}

/* Thousands of fibers queued at once: the worker's deque grows (a failure
 * spills to the global queue) and the fiber table gets a second chunk. */

enum { MANY = 5000 };

static void *spawner(void *arg)
{
    (void)arg;
    static weft_fiber kids[MANY];
    int op = 0, n = 0;
    while (n < MANY && !op) {
        int r = weft_spawn(&kids[n], identity, NULL, NULL);
        first(&op, r);
        n += r == 0;
    }
    for (int i = 0; i < n; i++)
        join_into(&op, kids[i]);
    return (void *)(intptr_t)op;
}

static void run_spawn_many(struct outcome *out)
{
    up(&scen);
    sweep_arm();
    spawn_join_into(&out->op, spawner, NULL, NULL);
    down(out);
}

TEST(mass_spawn_fails_cleanly_at_every_allocation)
{
    static const struct sweep s = {"spawn 5000", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_spawn_many};
    sweep_both(&s);
}

/* Channels: make (ring, handle table), send/recv between a fiber and a
 * plain thread, a select of more cases than fit on the stack, free. */

static void *sender(void *arg)
{
    weft_chan *ch = arg;
    int op = 0;
    for (int i = 0; i < 10; i++)
        first(&op, weft_chan_send(ch[0], &i));
    int v = 99;
    first(&op, weft_chan_send(ch[1], &v));
    return (void *)(intptr_t)op;
}

static void chan_traffic(int *op, weft_chan ch[2])
{
    weft_fiber f;
    int r = weft_spawn(&f, sender, ch, NULL);
    first(op, r);
    if (r)
        return;
    for (int i = 0; i < 10; i++) {
        int v = -1;
        first(op, weft_chan_recv(ch[0], &v));
        EXPECT_EQ(v, i);
    }
    int v = -1;
    first(op, weft_chan_recv(ch[1], &v));
    EXPECT_EQ(v, 99);
    join_into(op, f);
    /* 17 cases: more than select keeps on its stack. */
    int x = 7, got[17];
    weft_select_case cases[17];
    for (int i = 0; i < 17; i++)
        cases[i] = (weft_select_case){.ch = ch[0], .op = WEFT_SELECT_RECV, .elem = &got[i]};
    first(op, weft_chan_try_send(ch[0], &x));
    int idx = weft_select(cases, 17, WEFT_FOREVER);
    if (idx >= 0) {
        EXPECT(idx < 17);
        EXPECT_EQ(got[idx], 7);
    } else {
        first(op, idx);
        int drop;
        EXPECT_EQ(weft_chan_try_recv(ch[0], &drop), 0);
    }
}

static void run_chan(struct outcome *out)
{
    up(&scen);
    sweep_arm();
    weft_chan ch[2];
    /* Stop at the first failure, so that the handle table's chunk (kept
     * for the process) is first made by a run that can fail it. */
    int r0 = weft_chan_make(&ch[0], sizeof(int), 4);
    int r1 = r0 ? r0 : weft_chan_make(&ch[1], sizeof(int), 0);
    first(&out->op, r0);
    first(&out->op, r1);
    if (!r0 && !r1)
        chan_traffic(&out->op, ch);
    if (!r0)
        EXPECT_EQ(weft_chan_free(ch[0]), 0);
    if (!r1)
        EXPECT_EQ(weft_chan_free(ch[1]), 0);
    down(out);
}

TEST(channels_fail_cleanly_at_every_allocation)
{
    /* One chunk of the channel handle table stays for the process. */
    static const struct sweep s = {"chan", WT_FAULT_ALLOC, 0, {-ENOMEM}, 1, run_chan};
    sweep_both(&s);
}

/* Groups: go (a member record each), wait, destroy, and weft_map. A
 * member whose fiber gets no stack ends with -ENOMEM (it used to vanish
 * and leave weft_group_wait waiting forever). */

static int member(void *arg)
{
    (void)arg;
    return 0;
}

static int square(void *elem, void *arg)
{
    (void)arg;
    int *e = elem;
    *e *= *e;
    return 0;
}

static void run_group(struct outcome *out)
{
    up(&scen);
    sweep_arm();
    weft_group g = WEFT_GROUP_INIT;
    CHECK_OK(weft_group_init(&g, 0));
    /* The second member's stack is a region of its own: its mapping can
     * fail after the go succeeded, and the member must still end. */
    weft_fiber_attr own = {.stack_size = 128 * 1024};
    for (int i = 0; i < 3; i++) {
        int r = weft_group_go(&g, member, NULL, i == 1 ? &own : NULL);
        first(&out->op, r < 0 ? r : 0);
    }
    first(&out->op, weft_group_wait(&g));
    EXPECT_EQ(weft_group_destroy(&g), 0);
    int a[64];
    for (int i = 0; i < 64; i++)
        a[i] = i;
    int r = weft_map(a, 64, sizeof a[0], square, NULL);
    first(&out->op, r);
    for (int i = 0; i < 64 && r == 0; i++)
        EXPECT_EQ(a[i], i * i);
    down(out);
}

TEST(groups_fail_cleanly_at_every_allocation)
{
    static const struct sweep s = {"group", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_group};
    static const struct sweep maps = {"group (mappings)", WT_FAULT_MAP, 0, {-ENOMEM}, 0, run_group};
    sweep_both(&s);
    sweep_both(&maps);
}

/* The netpoller: a fiber's first weft_read on a pipe (the pd table chunk,
 * the registration, a timer for the deadline), parked until a second
 * fiber, queued behind it on the one worker, writes. */

static void *writer(void *arg)
{
    return (void *)(intptr_t)(write(*(int *)arg, "x", 1) == 1 ? 0 : -EIO);
}

static void run_netpoll(struct outcome *out)
{
    up(&one);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    sweep_arm();
    struct rd x = {.fd = p[0], .got = 0, .c = 0};
    weft_fiber f, g;
    int r = weft_spawn(&f, rd_fiber, &x, NULL);
    first(&out->op, r);
    if (!r) {
        CHECK_OK(weft_spawn(&g, writer, &p[1], NULL)); /* no allocation: the cache has it */
        join_into(&out->op, g);
        first(&out->op, weft_join(f, NULL));
        if (x.got != 1)
            first(&out->op, x.got < 0 ? (int)x.got : -EIO);
        else
            EXPECT_EQ(x.c, 'x');
    }
    EXPECT_EQ(weft_close(p[0]), 0);
    EXPECT_EQ(close(p[1]), 0);
    down(out);
}

TEST(netpoll_registration_fails_cleanly_at_every_allocation)
{
    /* The chunk of the pd table that holds the pipe stays (netpoll.h). */
    static const struct sweep s = {"netpoll", WT_FAULT_ALLOC, 0, {-ENOMEM}, 1, run_netpoll};
    EXPECT(sweep_run(&s) > 0);
}

/* Offload: the first call starts a pool thread (its record, the thread). */

static void run_offload(struct outcome *out)
{
    up(&scen);
    sweep_arm();
    spawn_join_into(&out->op, offloader, NULL, NULL);
    down(out);
}

TEST(offload_fails_cleanly_at_every_allocation)
{
    /* No pool thread could start: -EAGAIN (weft/offload.h). */
    static const struct sweep s = {"offload", WT_FAULT_ALLOC, 0, {-ENOMEM, -EAGAIN},
                                   0,         run_offload};
    sweep_both(&s);
}

/* The timeline trace: its rings, the JSON writer's tables, a fiber's run
 * recorded, the file written out by the monitor and at stop. */

static void run_trace(struct outcome *out)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-fault-trace-%ld.json", (long)getpid());
    up(&scen);
    sweep_arm();
    int r = weft_trace_start(path);
    first(&out->op, r);
    if (!r) {
        spawn_join_into(&out->op, identity, NULL, NULL);
        first(&out->op, weft_trace_stop());
    }
    unlink(path);
    down(out);
}

TEST(trace_fails_cleanly_at_every_allocation)
{
    static const struct sweep s = {"trace", WT_FAULT_ALLOC, 0, {-ENOMEM}, 0, run_trace};
    sweep_both(&s);
}

/* Mappings: the start-up probe of MADV_GUARD_INSTALL, a pooled region
 * (three 8 MiB slots, so three guards) and a one-slot region, in each
 * guard mode. A fiber without a stack ends at once: its join says -ENOMEM. */

static enum weft_guard map_mode;

static void run_map(struct outcome *out)
{
    weft_config cfg = {
        .workers = 1, .pin = WEFT_PIN_OFF, .stack_size = 8u << 20, .guard = map_mode};
    sweep_arm();
    int r = weft_init(&cfg);
    first(&out->op, r);
    if (r) {
        out->shutdown = weft_shutdown();
        out->want_shutdown = -ECANCELED;
        return;
    }
    weft_fiber_attr small = {.stack_size = 64 * 1024};
    for (int i = 0; i < 2; i++)
        spawn_join_into(&out->op, identity, NULL, i ? &small : NULL);
    down(out);
}

static bool madvise_guards_work(void)
{
    int r = weft_init(&(weft_config){.workers = 1, .guard = WEFT_GUARD_MADVISE});
    if (r == 0)
        CHECK_OK(weft_shutdown());
    return r == 0;
}

TEST(stack_mappings_fail_cleanly_in_every_guard_mode)
{
    static const char *names[] = {"map (default guard)", "map (madvise guard)",
                                  "map (mprotect guard)", "map (canary)"};
    for (int m = WEFT_GUARD_DEFAULT; m <= WEFT_GUARD_CANARY; m++) {
        if (m == WEFT_GUARD_MADVISE && !madvise_guards_work()) {
            printf("# %s: MADV_GUARD_INSTALL unavailable, not swept\n", names[m]);
            continue;
        }
        map_mode = (enum weft_guard)m;
        struct sweep s = {names[m], WT_FAULT_MAP, 0, {-ENOMEM}, 0, run_map};
        EXPECT(sweep_run(&s) > 0);
    }
}

TAP_MAIN()
