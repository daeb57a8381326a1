/*
 * tap.h - the test harness: cases registered with TEST(), run in order,
 * reported as TAP on stdout, with a watchdog that turns a hang into a
 * failure. One executable per concept; meson runs each with protocol 'tap'.
 *
 *   TEST(name) { EXPECT_EQ(a, b); CHECK_OK(call()); }
 *   int main(void) { return tap_run(); }      (or TAP_MAIN())
 *
 * EXPECT_* record a failure and go on; CHECK_* record it and leave the case.
 * WEFT_TEST_SEED replays a seed (tap_seed()); WEFT_TEST_TIMEOUT (seconds,
 * default 120) arms the watchdog per case.
 */
#ifndef WT_TAP_H
#define WT_TAP_H

#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tap_case {
    const char *name;
    void (*fn)(void);
    int line; /* where TEST() stands: cases run in source order */
};

#define TAP_MAX_CASES 256
/* Skip the running case with a reason (leaves it at once). */
#define SKIP(reason)              \
    do {                          \
        tap_case_skip = (reason); \
        longjmp(tap_bail, 1);     \
    } while (0)
static struct tap_case tap_cases[TAP_MAX_CASES];
static int tap_ncases;
static int tap_case_failed;
static const char *tap_case_skip;
static const char *tap_current;
static jmp_buf tap_bail;
static uint64_t tap_seed_value;

static void tap_register(const char *name, void (*fn)(void), int line)
{
    if (tap_ncases == TAP_MAX_CASES) {
        fprintf(stderr, "tap: too many cases\n");
        abort();
    }
    /* Constructors run in an order the toolchain picks (source order in a
     * plain gcc build, the reverse under -flto): insert by line, so that
     * cases run in source order everywhere - a case may rely on the one
     * before it (a soak's checks on its workload). */
    int i = tap_ncases++;
    while (i > 0 && tap_cases[i - 1].line > line) {
        tap_cases[i] = tap_cases[i - 1];
        i--;
    }
    tap_cases[i] = (struct tap_case){.name = name, .fn = fn, .line = line};
}

#define TEST(name)                                                \
    static void test_##name(void);                                \
    __attribute__((constructor)) static void tap_reg_##name(void) \
    {                                                             \
        tap_register(#name, test_##name, __LINE__);               \
    }                                                             \
    static void test_##name(void)

static void tap_fail(const char *file, int line, const char *what)
{
    tap_case_failed = 1;
    printf("# %s: %s:%d: %s\n", tap_current ? tap_current : "?", file, line, what);
    fflush(stdout);
}

static void tap_fail_i(const char *file, int line, const char *a, const char *b, long long va,
                       long long vb)
{
    char buf[512];
    snprintf(buf, sizeof buf, "expected %s == %s, got %lld and %lld", a, b, va, vb);
    tap_fail(file, line, buf);
}

#define EXPECT(cond) ((cond) ? (void)0 : tap_fail(__FILE__, __LINE__, "expected " #cond))
#define EXPECT_EQ(a, b)                                             \
    do {                                                            \
        long long tap_a_ = (long long)(a), tap_b_ = (long long)(b); \
        if (tap_a_ != tap_b_)                                       \
            tap_fail_i(__FILE__, __LINE__, #a, #b, tap_a_, tap_b_); \
    } while (0)
#define CHECK(cond)                                               \
    do {                                                          \
        if (!(cond)) {                                            \
            tap_fail(__FILE__, __LINE__, "check failed: " #cond); \
            longjmp(tap_bail, 1);                                 \
        }                                                         \
    } while (0)
#define CHECK_EQ(a, b)                                              \
    do {                                                            \
        long long tap_a_ = (long long)(a), tap_b_ = (long long)(b); \
        if (tap_a_ != tap_b_) {                                     \
            tap_fail_i(__FILE__, __LINE__, #a, #b, tap_a_, tap_b_); \
            longjmp(tap_bail, 1);                                   \
        }                                                           \
    } while (0)
#define CHECK_OK(expr) CHECK_EQ((expr), 0)

/* The seed of this run: WEFT_TEST_SEED if set, else from the clock. */
__attribute__((unused)) static uint64_t tap_seed(void)
{
    return tap_seed_value;
}

static void tap_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "# watchdog: case timed out\nnot ok - hang\n";
    ssize_t r = write(1, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

static int tap_run(void)
{
    const char *s = getenv("WEFT_TEST_SEED");
    if (s && *s) {
        tap_seed_value = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tap_seed_value = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec;
    }
    const char *t = getenv("WEFT_TEST_TIMEOUT");
    unsigned timeout = t && *t ? (unsigned)strtoul(t, NULL, 10) : 120;
    signal(SIGALRM, tap_watchdog);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("TAP version 13\n1..%d\n# seed %" PRIu64 " (replay with WEFT_TEST_SEED)\n", tap_ncases,
           tap_seed_value);
    int failed = 0;
    for (int i = 0; i < tap_ncases; i++) {
        tap_current = tap_cases[i].name;
        tap_case_failed = 0;
        tap_case_skip = NULL;
        alarm(timeout);
        if (setjmp(tap_bail) == 0)
            tap_cases[i].fn();
        alarm(0);
        if (tap_case_skip && !tap_case_failed)
            printf("ok %d - %s # SKIP %s\n", i + 1, tap_cases[i].name, tap_case_skip);
        else
            printf("%s %d - %s\n", tap_case_failed ? "not ok" : "ok", i + 1, tap_cases[i].name);
        failed += tap_case_failed;
    }
    return failed ? 1 : 0;
}

#define TAP_MAIN()        \
    int main(void)        \
    {                     \
        return tap_run(); \
    }

#endif /* WT_TAP_H */
