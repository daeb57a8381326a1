/*
 * stack_test.c - fiber stacks: size checks, every guard mode, pooling, the
 * mprotect budget falling back to canaries, and overflow reports that name
 * the fiber (death tests in a forked child).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include "fiber.h"
#include "os.h"
#include "stack.h"
#include "tap.h"
#include "weft.h"
#include "worker.h"

static const enum weft_guard all_modes[] = {WEFT_GUARD_MADVISE, WEFT_GUARD_MPROTECT,
                                            WEFT_GUARD_CANARY};

/* A stack allocator for 64 KiB stacks guarded by @mode, and an empty pool. */
static void stacks_init(struct stack_global *g, struct stack_pool *p, enum weft_guard mode)
{
    *p = (struct stack_pool){0};
    CHECK_OK(wt_stack_global_init(g, 64 * 1024, mode));
}

/* Hands the pool's stacks back and releases the allocator. */
static void stacks_fini(struct stack_global *g, struct stack_pool *p)
{
    wt_stack_pool_drain(g, p);
    wt_stack_global_fini(g);
}

TEST(size_checks_refuse_out_of_range_and_round_to_pages)
{
    size_t page = wt_os_page_size(), r = 12345;
    EXPECT_EQ(wt_stack_check_size(0, &r), -EINVAL);
    EXPECT_EQ(wt_stack_check_size(WEFT_STACK_MIN - 1, &r), -EINVAL);
    EXPECT_EQ(wt_stack_check_size(WEFT_STACK_MAX + 1, &r), -EINVAL);
    EXPECT_EQ(r, 12345); /* untouched after an error */
    CHECK_OK(wt_stack_check_size(WEFT_STACK_MIN + 1, &r));
    EXPECT_EQ(r % page, 0);
    EXPECT(r >= WEFT_STACK_MIN + 1 && r < WEFT_STACK_MIN + 1 + page);
    CHECK_OK(wt_stack_check_size(WEFT_STACK_MAX, &r));
    EXPECT_EQ(r, WEFT_STACK_MAX);
}

/* Is MADV_GUARD_INSTALL usable here (not under qemu or an old kernel)? */
static bool have_madvise_guards(void)
{
    struct stack_global g;
    int r = wt_stack_global_init(&g, 64 * 1024, WEFT_GUARD_MADVISE);
    if (r == 0)
        wt_stack_global_fini(&g);
    return r == 0;
}

TEST(each_mode_gives_usable_stacks_with_its_guard)
{
    for (size_t m = 0; m < sizeof all_modes / sizeof all_modes[0]; m++) {
        if (all_modes[m] == WEFT_GUARD_MADVISE && !have_madvise_guards())
            continue;
        struct stack_global g;
        struct stack_pool p;
        stacks_init(&g, &p, all_modes[m]);
        EXPECT_EQ(g.mode, all_modes[m]);
        struct stack *s[100];
        for (int i = 0; i < 100; i++) {
            s[i] = wt_stack_get(&g, &p, 0);
            CHECK(s[i] != NULL);
            EXPECT_EQ(s[i]->size, 64 * 1024);
            EXPECT_EQ(s[i]->guard, all_modes[m]);
            memset(s[i]->lo, 0xA5, s[i]->size); /* the whole range is writable */
            if (all_modes[m] == WEFT_GUARD_CANARY) {
                EXPECT(wt_stack_canary_ok(s[i]));
                EXPECT(!wt_stack_in_guard(s[i], s[i]->lo - 1));
            } else {
                EXPECT(wt_stack_in_guard(s[i], s[i]->lo - 1));
                EXPECT(!wt_stack_in_guard(s[i], s[i]->lo));
            }
        }
        for (int i = 0; i < 100; i++)
            for (int j = i + 1; j < 100; j++)
                EXPECT(s[i]->lo + s[i]->size <= s[j]->lo || s[j]->lo + s[j]->size <= s[i]->lo);
        for (int i = 0; i < 100; i++)
            wt_stack_put(&g, &p, s[i]);
        /* Pooled: the last one released is the next one handed out. */
        struct stack *again = wt_stack_get(&g, &p, 0);
        EXPECT(again == s[99]);
        wt_stack_put(&g, &p, again);
        wt_stack_trim(&g, &p);
        EXPECT(p.n <= 16);
        stacks_fini(&g, &p);
    }
}

TEST(odd_sizes_are_mapped_alone_and_unmapped_on_release)
{
    struct stack_global g;
    struct stack_pool p;
    stacks_init(&g, &p, WEFT_GUARD_MPROTECT);
    struct stack *s = wt_stack_get(&g, &p, 1024 * 1024);
    CHECK(s != NULL);
    EXPECT_EQ(s->size, 1024 * 1024);
    memset(s->lo, 1, s->size);
    EXPECT(g.regions != NULL);
    wt_stack_put(&g, &p, s);
    EXPECT(g.regions == NULL); /* nothing else was mapped */
    EXPECT_EQ(p.n, 0);
    wt_stack_global_fini(&g);
}

TEST(mprotect_budget_spent_falls_back_to_canaries)
{
    struct stack_global g;
    struct stack_pool p;
    stacks_init(&g, &p, WEFT_GUARD_MPROTECT);
    g.mprotect_budget = 0;
    struct stack *s = wt_stack_get(&g, &p, 0);
    CHECK(s != NULL);
    EXPECT_EQ(s->guard, WEFT_GUARD_CANARY);
    EXPECT(wt_stack_canary_ok(s));
    EXPECT_EQ(g.mprotect_guards, 0);
    wt_stack_put(&g, &p, s);
    stacks_fini(&g, &p);
}

TEST(a_clobbered_canary_is_detected)
{
    struct stack_global g;
    struct stack_pool p;
    stacks_init(&g, &p, WEFT_GUARD_CANARY);
    struct stack *s = wt_stack_get(&g, &p, 0);
    CHECK(s != NULL);
    EXPECT(wt_stack_canary_ok(s));
    s->lo[-1] = 0;
    EXPECT(!wt_stack_canary_ok(s));
    wt_stack_put(&g, &p, s);
    /* Handing it out again rewrites the canary. */
    s = wt_stack_get(&g, &p, 0);
    EXPECT(wt_stack_canary_ok(s));
    wt_stack_put(&g, &p, s);
    stacks_fini(&g, &p);
}

/* --- overflow death tests ---------------------------------------------- */

static volatile int depth_limit = 1 << 30; /* never reached: the guard is */

static int recurse(int depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    frame[511] = (char)depth;
    if (depth >= depth_limit)
        return 0;
    return recurse(depth + 1) + frame[0] + frame[511];
}

static void *overflow_by_recursion(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse(0);
}

static void *overflow_onto_canary(void *arg)
{
    (void)arg;
    /* What a slight overflow does in canary mode: writes just below lo. */
    struct stack *s = wt_worker_self()->current->stack;
    memset(s->lo - 16, 0, 16);
    weft_yield(); /* the switch checks the canary */
    return NULL;
}

/* Run @fn as fiber "deep" in a child with guard @mode; the child must die
 * of SIGABRT with a message naming the fiber. */
static void expect_overflow_report(enum weft_guard mode, weft_fn fn)
{
    int fds[2];
    CHECK_OK(pipe(fds));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        weft_config cfg = {.workers = 1, .guard = mode};
        if (weft_init(&cfg) != 0)
            _exit(3);
        weft_fiber f;
        weft_fiber_attr attr = {.name = "deep"};
        if (weft_spawn(&f, fn, NULL, &attr) != 0)
            _exit(4);
        weft_join(f, NULL);
        _exit(0); /* not reached: the overflow must kill us */
    }
    close(fds[1]);
    char buf[1024] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    EXPECT(WIFSIGNALED(status));
    EXPECT_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : -1, SIGABRT);
    EXPECT(strstr(buf, "fiber 'deep'") != NULL);
    EXPECT(strstr(buf, "overflowed") != NULL);
    if (!strstr(buf, "overflowed"))
        printf("# child said: %s\n", buf);
}

#if WT_ASAN || WT_TSAN
#define SKIP_UNDER_SANITIZERS() SKIP("the sanitizers own SIGSEGV and the stack layout")
#else
#define SKIP_UNDER_SANITIZERS() ((void)0)
#endif

TEST(overflow_into_madvise_guard_names_the_fiber)
{
    SKIP_UNDER_SANITIZERS();
    if (!have_madvise_guards())
        SKIP("MADV_GUARD_INSTALL is not enforced here");
    expect_overflow_report(WEFT_GUARD_MADVISE, overflow_by_recursion);
}

TEST(overflow_into_mprotect_guard_names_the_fiber)
{
    SKIP_UNDER_SANITIZERS();
    expect_overflow_report(WEFT_GUARD_MPROTECT, overflow_by_recursion);
}

TEST(overflow_onto_canary_names_the_fiber_at_the_next_switch)
{
    SKIP_UNDER_SANITIZERS();
    expect_overflow_report(WEFT_GUARD_CANARY, overflow_onto_canary);
}

TAP_MAIN()
