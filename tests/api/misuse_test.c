/*
 * misuse_test.c - every documented misuse of weft.h, one table, one row per
 * case with the code it must return. Each row also checks that outputs are
 * left untouched on error, and (where the runner starts a runtime around it)
 * that the misuse leaked nothing: shutdown after the row returns 0.
 */
#include "weft.h"

#include "tap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

/* A row returns this if it saw an output written by a call that failed, or
 * a later call that should have worked fail. */
#define WRONG_SIDE_EFFECT 1000000

#define SENTINEL_ID  ((uint64_t)0xfeedfacecafebeefull)
#define SENTINEL_PTR ((void *)(uintptr_t)0x5a5a5a5a)

/* Where a row runs:
 *  BEFORE_INIT  in the main thread, before any weft_init in this process
 *               (such rows come first in the table);
 *  PLAIN        in the main thread of a runtime started for the row;
 *  FIBER        in a fiber of a runtime started for the row;
 *  OWN          in the main thread; the row starts and stops what it needs. */
enum where { BEFORE_INIT, PLAIN, FIBER, OWN };

struct misuse {
    const char *what;
    enum where where;
    int (*run)(void);
    int want;
};

static atomic_int counted_spawned, counted_ended;

static void *counted(void *arg)
{
    (void)arg;
    atomic_fetch_add(&counted_ended, 1);
    return NULL;
}

static int spawn_counted(weft_fiber *f, bool detached)
{
    int rc = weft_spawn(f, counted, NULL, &(weft_fiber_attr){.detached = detached});
    if (rc == 0)
        atomic_fetch_add(&counted_spawned, 1);
    return rc;
}

/* Detached fibers must end before the runner's shutdown counts leaks. */
static void wait_counted(void)
{
    while (atomic_load(&counted_ended) < atomic_load(&counted_spawned))
        weft_yield();
}

static void *nothing(void *arg)
{
    return arg;
}

static atomic_int spin_stop; /* never set: spinners are abandoned */

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        weft_yield();
    return NULL;
}

static weft_key the_key(void)
{
    static weft_key key;
    static bool made;
    if (!made) {
        if (weft_key_create(&key, NULL) != 0)
            abort();
        made = true;
    }
    return key;
}

static int join_checked(weft_fiber f)
{
    void *r = SENTINEL_PTR;
    int rc = weft_join(f, &r);
    if (rc != 0 && r != SENTINEL_PTR)
        return WRONG_SIDE_EFFECT;
    return rc;
}

static int spawn_checked(weft_fn fn, const weft_fiber_attr *attr)
{
    weft_fiber f = {.id = SENTINEL_ID};
    int rc = weft_spawn(&f, fn, NULL, attr);
    if (rc == 0)
        return weft_join(f, NULL) == 0 ? 0 : WRONG_SIDE_EFFECT;
    return f.id == SENTINEL_ID ? rc : WRONG_SIDE_EFFECT;
}

static int key_get_checked(weft_key key)
{
    void *v = SENTINEL_PTR;
    int rc = weft_key_get(key, &v);
    if (rc != 0 && v != SENTINEL_PTR)
        return WRONG_SIDE_EFFECT;
    return rc;
}

/* ---- rows ---- */

static int spawn_now(void)
{
    return spawn_checked(nothing, NULL);
}

static int spawn_detached_now(void)
{
    return weft_spawn(NULL, nothing, NULL, &(weft_fiber_attr){.detached = true});
}

static int join_zero(void)
{
    return join_checked((weft_fiber){0});
}

static int detach_zero(void)
{
    return weft_detach((weft_fiber){0});
}

static int join_garbage(void)
{
    return join_checked((weft_fiber){.id = 0xdeadbeefcafef00dull});
}

static int join_all_ones(void)
{
    return join_checked((weft_fiber){.id = UINT64_MAX});
}

static int detach_garbage(void)
{
    return weft_detach((weft_fiber){.id = 0xdeadbeefcafef00dull});
}

static int workers_now(void)
{
    return weft_workers();
}

static int shutdown_now(void)
{
    return weft_shutdown();
}

static int worker_index_now(void)
{
    return weft_worker_index();
}

static int key_set_now(void)
{
    return weft_key_set(the_key(), SENTINEL_PTR);
}

static int key_get_now(void)
{
    return key_get_checked(the_key());
}

static int key_create_null(void)
{
    return weft_key_create(NULL, NULL);
}

static int sleep_minus_one(void)
{
    return weft_sleep(-1);
}

static int sleep_int64_min(void)
{
    return weft_sleep(INT64_MIN);
}

static int sleep_until_forever(void)
{
    return weft_sleep_until(WEFT_FOREVER);
}

static int sleep_until_minus_two(void)
{
    return weft_sleep_until(-2);
}

static int sleep_until_int64_min(void)
{
    return weft_sleep_until(INT64_MIN);
}

static int join_joined(void)
{
    weft_fiber f;
    if (weft_spawn(&f, nothing, NULL, NULL) != 0 || weft_join(f, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    return join_checked(f);
}

/* The joined fiber's slot is probably reused by the next spawns: the stale
 * handle must still be refused, and must not reach the new fibers. */
static int join_joined_after_reuse(void)
{
    weft_fiber old, f[8];
    if (weft_spawn(&old, nothing, NULL, NULL) != 0 || weft_join(old, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    for (uintptr_t i = 0; i < 8; i++)
        if (weft_spawn(&f[i], nothing, (void *)(i + 1), NULL) != 0)
            return WRONG_SIDE_EFFECT;
    int rc = join_checked(old);
    for (uintptr_t i = 0; i < 8; i++) {
        void *r = NULL;
        if (weft_join(f[i], &r) != 0 || (uintptr_t)r != i + 1)
            return WRONG_SIDE_EFFECT;
    }
    return rc;
}

static int detach_joined(void)
{
    weft_fiber f;
    if (weft_spawn(&f, nothing, NULL, NULL) != 0 || weft_join(f, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    return weft_detach(f);
}

static int detach_twice(void)
{
    weft_fiber f;
    if (spawn_counted(&f, false) != 0 || weft_detach(f) != 0)
        return WRONG_SIDE_EFFECT;
    int rc = weft_detach(f);
    wait_counted();
    return rc;
}

static int join_detached(void)
{
    weft_fiber f;
    if (spawn_counted(&f, false) != 0 || weft_detach(f) != 0)
        return WRONG_SIDE_EFFECT;
    int rc = join_checked(f);
    wait_counted();
    return rc;
}

static int join_spawned_detached(void)
{
    weft_fiber f;
    if (spawn_counted(&f, true) != 0)
        return WRONG_SIDE_EFFECT;
    int rc = join_checked(f);
    wait_counted();
    return rc;
}

static int detach_spawned_detached(void)
{
    weft_fiber f;
    if (spawn_counted(&f, true) != 0)
        return WRONG_SIDE_EFFECT;
    int rc = weft_detach(f);
    wait_counted();
    return rc;
}

static int join_self(void)
{
    return join_checked(weft_self());
}

static int spawn_null_fn(void)
{
    return spawn_checked(NULL, NULL);
}

static int spawn_null_fn_detached(void)
{
    return weft_spawn(NULL, NULL, NULL, &(weft_fiber_attr){.detached = true});
}

static int spawn_null_out(void)
{
    return weft_spawn(NULL, nothing, NULL, NULL);
}

static int spawn_null_out_joinable_attr(void)
{
    return weft_spawn(NULL, nothing, NULL, &(weft_fiber_attr){.name = "x"});
}

static int spawn_stack_too_small(void)
{
    return spawn_checked(nothing, &(weft_fiber_attr){.stack_size = WEFT_STACK_MIN - 1});
}

static int spawn_stack_too_big(void)
{
    return spawn_checked(nothing, &(weft_fiber_attr){.stack_size = WEFT_STACK_MAX + 1});
}

static int spawn_name_too_long(void)
{
    char name[WEFT_NAME_MAX + 1];
    memset(name, 'n', WEFT_NAME_MAX);
    name[WEFT_NAME_MAX] = '\0';
    return spawn_checked(nothing, &(weft_fiber_attr){.name = name});
}

static int key_get_null_value(void)
{
    return weft_key_get(the_key(), NULL);
}

static int key_get_uncreated_max(void)
{
    return key_get_checked((weft_key){.id = UINT32_MAX});
}

static int key_set_uncreated_max(void)
{
    return weft_key_set((weft_key){.id = UINT32_MAX}, SENTINEL_PTR);
}

/* One key exists in this process: a high in-range slot is not created. */
static int key_get_uncreated_last(void)
{
    return key_get_checked((weft_key){.id = WEFT_KEYS_MAX - 1});
}

static int key_set_uncreated_past_end(void)
{
    return weft_key_set((weft_key){.id = WEFT_KEYS_MAX}, SENTINEL_PTR);
}

static int init_now(void)
{
    return weft_init(&(weft_config){.workers = 1});
}

static int init_null_now(void)
{
    return weft_init(NULL);
}

static int main_now(void)
{
    void *r = SENTINEL_PTR;
    int rc = weft_main(NULL, nothing, NULL, &r);
    return r == SENTINEL_PTR ? rc : WRONG_SIDE_EFFECT;
}

static int spawn_after_shutdown(void)
{
    if (weft_init(&(weft_config){.workers = 1}) != 0 || weft_shutdown() != 0)
        return WRONG_SIDE_EFFECT;
    weft_fiber f = {.id = SENTINEL_ID};
    int rc = weft_spawn(&f, nothing, NULL, NULL);
    if (f.id != SENTINEL_ID)
        return WRONG_SIDE_EFFECT;
    if (weft_spawn(NULL, nothing, NULL, &(weft_fiber_attr){.detached = true}) != rc)
        return WRONG_SIDE_EFFECT;
    return rc;
}

/* A handle of a fiber abandoned by the last shutdown. */
static weft_fiber abandoned_handle(void)
{
    weft_fiber f = {0};
    if (weft_init(&(weft_config){.workers = 1}) != 0)
        return f;
    if (weft_spawn(&f, spinner, NULL, NULL) != 0 || weft_shutdown() != -EBUSY)
        f.id = 0;
    return f;
}

static int join_after_shutdown(void)
{
    weft_fiber f = abandoned_handle();
    return f.id ? join_checked(f) : WRONG_SIDE_EFFECT;
}

static int detach_after_shutdown(void)
{
    weft_fiber f = abandoned_handle();
    return f.id ? weft_detach(f) : WRONG_SIDE_EFFECT;
}

/* A handle joined in an earlier runtime must not reach a fiber of the next
 * one (whose handle table may start over): -ESRCH, or -EBADF (never issued
 * by this runtime), both reported as -ESRCH here. */
static int join_handle_of_earlier_runtime(void)
{
    weft_fiber old, f;
    if (weft_init(&(weft_config){.workers = 1}) != 0)
        return WRONG_SIDE_EFFECT;
    if (weft_spawn(&old, nothing, NULL, NULL) != 0 || weft_join(old, NULL) != 0 ||
        weft_shutdown() != 0)
        return WRONG_SIDE_EFFECT;
    if (weft_init(&(weft_config){.workers = 1}) != 0)
        return WRONG_SIDE_EFFECT;
    if (weft_spawn(&f, nothing, (void *)(uintptr_t)77, NULL) != 0)
        return WRONG_SIDE_EFFECT;
    int rc = join_checked(old);
    void *r = NULL;
    if (weft_join(f, &r) != 0 || (uintptr_t)r != 77 || weft_shutdown() != 0)
        return WRONG_SIDE_EFFECT;
    return rc == -EBADF ? -ESRCH : rc;
}

static const struct misuse table[] = {
    /* No runtime yet: these rows must come first. */
    {"spawn before init", BEFORE_INIT, spawn_now, -ECANCELED},
    {"detached spawn before init", BEFORE_INIT, spawn_detached_now, -ECANCELED},
    {"join zero handle before init", BEFORE_INIT, join_zero, -ECANCELED},
    {"detach zero handle before init", BEFORE_INIT, detach_zero, -ECANCELED},
    {"workers before init", BEFORE_INIT, workers_now, -ECANCELED},
    {"shutdown before init", BEFORE_INIT, shutdown_now, -ECANCELED},
    {"worker_index before init", BEFORE_INIT, worker_index_now, -EPERM},
    {"key_set from plain thread before init", BEFORE_INIT, key_set_now, -EPERM},
    {"key_get from plain thread before init", BEFORE_INIT, key_get_now, -EPERM},
    {"key_create NULL before init", BEFORE_INIT, key_create_null, -EINVAL},
    {"sleep -1 before init", BEFORE_INIT, sleep_minus_one, -EINVAL},
    {"sleep_until FOREVER before init", BEFORE_INIT, sleep_until_forever, -EINVAL},

    /* Plain thread, runtime running. */
    {"join zero handle", PLAIN, join_zero, -EBADF},
    {"detach zero handle", PLAIN, detach_zero, -EBADF},
    {"join garbage handle", PLAIN, join_garbage, -EBADF},
    {"join all-ones handle", PLAIN, join_all_ones, -EBADF},
    {"detach garbage handle", PLAIN, detach_garbage, -EBADF},
    {"join already-joined handle", PLAIN, join_joined, -ESRCH},
    {"join already-joined handle after slot reuse", PLAIN, join_joined_after_reuse, -ESRCH},
    {"detach already-joined handle", PLAIN, detach_joined, -ESRCH},
    {"double detach", PLAIN, detach_twice, -ESRCH},
    {"join of detached fiber", PLAIN, join_detached, -ESRCH},
    {"join of fiber spawned detached", PLAIN, join_spawned_detached, -ESRCH},
    {"detach of fiber spawned detached", PLAIN, detach_spawned_detached, -ESRCH},
    {"spawn NULL fn", PLAIN, spawn_null_fn, -EINVAL},
    {"spawn NULL fn detached", PLAIN, spawn_null_fn_detached, -EINVAL},
    {"spawn joinable with NULL out", PLAIN, spawn_null_out, -EINVAL},
    {"spawn joinable with NULL out and attr", PLAIN, spawn_null_out_joinable_attr, -EINVAL},
    {"spawn stack below WEFT_STACK_MIN", PLAIN, spawn_stack_too_small, -EINVAL},
    {"spawn stack above WEFT_STACK_MAX", PLAIN, spawn_stack_too_big, -EINVAL},
    {"spawn name of WEFT_NAME_MAX bytes", PLAIN, spawn_name_too_long, -ENAMETOOLONG},
    {"key_set from plain thread", PLAIN, key_set_now, -EPERM},
    {"key_get from plain thread", PLAIN, key_get_now, -EPERM},
    {"key_create NULL", PLAIN, key_create_null, -EINVAL},
    {"sleep -1 from plain thread", PLAIN, sleep_minus_one, -EINVAL},
    {"sleep_until FOREVER from plain thread", PLAIN, sleep_until_forever, -EINVAL},
    {"sleep_until -2 from plain thread", PLAIN, sleep_until_minus_two, -EINVAL},
    {"init while running", PLAIN, init_now, -EBUSY},
    {"weft_main while running", PLAIN, main_now, -EBUSY},
    {"worker_index from plain thread", PLAIN, worker_index_now, -EPERM},

    /* Inside a fiber. */
    {"join of self", FIBER, join_self, -EDEADLK},
    {"join zero handle in fiber", FIBER, join_zero, -EBADF},
    {"join garbage handle in fiber", FIBER, join_garbage, -EBADF},
    {"join already-joined handle in fiber", FIBER, join_joined, -ESRCH},
    {"join of detached fiber in fiber", FIBER, join_detached, -ESRCH},
    {"double detach in fiber", FIBER, detach_twice, -ESRCH},
    {"spawn NULL fn in fiber", FIBER, spawn_null_fn, -EINVAL},
    {"spawn joinable with NULL out in fiber", FIBER, spawn_null_out, -EINVAL},
    {"spawn name of WEFT_NAME_MAX bytes in fiber", FIBER, spawn_name_too_long, -ENAMETOOLONG},
    {"key_get NULL value", FIBER, key_get_null_value, -EINVAL},
    {"key_get uncreated key (UINT32_MAX)", FIBER, key_get_uncreated_max, -EINVAL},
    {"key_set uncreated key (UINT32_MAX)", FIBER, key_set_uncreated_max, -EINVAL},
    {"key_get uncreated key (WEFT_KEYS_MAX - 1)", FIBER, key_get_uncreated_last, -EINVAL},
    {"key_set uncreated key (WEFT_KEYS_MAX)", FIBER, key_set_uncreated_past_end, -EINVAL},
    {"sleep -1 in fiber", FIBER, sleep_minus_one, -EINVAL},
    {"sleep INT64_MIN in fiber", FIBER, sleep_int64_min, -EINVAL},
    {"sleep_until FOREVER in fiber", FIBER, sleep_until_forever, -EINVAL},
    {"sleep_until -2 in fiber", FIBER, sleep_until_minus_two, -EINVAL},
    {"sleep_until INT64_MIN in fiber", FIBER, sleep_until_int64_min, -EINVAL},
    {"shutdown from fiber", FIBER, shutdown_now, -EDEADLK},
    {"init from fiber", FIBER, init_now, -EBUSY},
    {"init(NULL) from fiber", FIBER, init_null_now, -EBUSY},
    {"weft_main from fiber", FIBER, main_now, -EBUSY},

    /* After a shutdown. */
    {"spawn after shutdown", OWN, spawn_after_shutdown, -ECANCELED},
    {"join of abandoned fiber after shutdown", OWN, join_after_shutdown, -ECANCELED},
    {"detach of abandoned fiber after shutdown", OWN, detach_after_shutdown, -ECANCELED},
    {"join of handle from an earlier runtime", OWN, join_handle_of_earlier_runtime, -ESRCH},
    {"workers after shutdown", OWN, workers_now, -ECANCELED},
    {"shutdown after shutdown", OWN, shutdown_now, -ECANCELED},
};

static void *run_row_in_fiber(void *arg)
{
    const struct misuse *m = arg;
    return (void *)(intptr_t)m->run();
}

/* Runs one row where it belongs; *leak gets the runner's shutdown code. */
static int run_row(const struct misuse *m, int *leak)
{
    *leak = 0;
    if (m->where == BEFORE_INIT || m->where == OWN)
        return m->run();
    if (weft_init(&(weft_config){.workers = 2}) != 0)
        return WRONG_SIDE_EFFECT;
    int got;
    if (m->where == PLAIN) {
        got = m->run();
    } else {
        weft_fiber f;
        void *r = NULL;
        if (weft_spawn(&f, run_row_in_fiber, (void *)m, NULL) != 0 || weft_join(f, &r) != 0)
            got = WRONG_SIDE_EFFECT;
        else
            got = (int)(intptr_t)r;
    }
    wait_counted();
    *leak = weft_shutdown();
    return got;
}

/* Each misuse returns its documented code, leaves outputs untouched, and
 * leaks nothing. */
TEST(misuse_table)
{
    (void)tap_seed(); /* the table is fixed: nothing random here */
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct misuse *m = &table[i];
        int leak;
        int got = run_row(m, &leak);
        if (got != m->want)
            printf("# row \"%s\": got %d (%s), want %d (%s)\n", m->what, got, weft_strerror(got),
                   m->want, weft_strerror(m->want));
        EXPECT_EQ(got, m->want);
        if (leak != 0)
            printf("# row \"%s\": shutdown after it returned %d\n", m->what, leak);
        EXPECT_EQ(leak, 0);
        if (weft_workers() > 0) { /* a row left a runtime behind */
            printf("# row \"%s\": runtime still running\n", m->what);
            EXPECT_EQ(weft_shutdown(), 0);
        }
    }
}

TAP_MAIN()
