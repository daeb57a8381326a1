/*
 * trace_test.c - weft_trace_start/stop and WEFT_TRACE through weft.h alone:
 * misuse gets its codes, a bad WEFT_TRACE is refused with a message, the
 * monitor writes a trace out while it records (started for it if nothing
 * else needed it), shutdown finishes a trace still recording, and a second
 * trace in the same runtime holds only its own fibers. The JSON itself is
 * checked in depth by tests/trace/trace_json_test.py.
 */
#include "weft.h"

#include "child.h"
#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS ((int64_t)1000000)

static char dir[64];

static const char *tmp_path(const char *name)
{
    static char path[4][128];
    static int next;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/weft-trace-XXXXXX");
        CHECK(mkdtemp(dir) != NULL);
    }
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* The whole of @path into @buf (NUL-terminated); its length, or -1. */
static long slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Is @buf a finished trace: the event array closed and the counts written? */
static bool finished(const char *buf)
{
    size_t n = strlen(buf);
    return strncmp(buf, "{\"traceEvents\":[", 16) == 0 && strstr(buf, "\"dropped_events\":") &&
           n > 4 && strcmp(buf + n - 4, "]}}\n") == 0;
}

static void *named_work(void *arg)
{
    (void)arg;
    weft_yield();
    return NULL;
}

/* Spawn and join @n fibers named @name on the running runtime. */
static int run_named(const char *name, int n)
{
    weft_fiber_attr attr = {.name = name};
    for (int i = 0; i < n; i++) {
        weft_fiber f;
        int r = weft_spawn(&f, named_work, NULL, &attr);
        if (r == 0)
            r = weft_join(f, NULL);
        if (r)
            return r;
    }
    return 0;
}

/* Each misuse gets its code, and nothing is left recording. */
TEST(trace_misuse_table)
{
    settle();
    EXPECT_EQ(weft_trace_start(tmp_path("early.json")), -ECANCELED);
    EXPECT_EQ(weft_trace_stop(), -ECANCELED);
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    struct {
        const char *path;
        int code;
    } rows[] = {
        {NULL, -EINVAL},
        {"", -EINVAL},
        {"/nonexistent-weft-dir/t.json", -ENOENT},
        {"/", -EISDIR},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        EXPECT_EQ(weft_trace_start(rows[i].path), rows[i].code);
    EXPECT_EQ(weft_trace_stop(), -ESRCH);
    const char *p = tmp_path("misuse.json");
    CHECK_OK(weft_trace_start(p));
    EXPECT_EQ(weft_trace_start(tmp_path("second.json")), -EBUSY);
    EXPECT_EQ(access(tmp_path("second.json"), F_OK), -1); /* not even created */
    CHECK_OK(weft_trace_stop());
    EXPECT_EQ(weft_trace_stop(), -ESRCH);
    CHECK_OK(weft_shutdown());
    static char buf[1 << 16];
    CHECK(slurp(p, buf, sizeof buf) > 0);
    EXPECT(finished(buf));
}

struct env_case {
    const char *value;
    const char *message; /* expected on stderr; NULL: weft_init succeeds */
};

static int env_body(void *arg)
{
    const struct env_case *c = arg;
    setenv("WEFT_TRACE", c->value, 1);
    int r = weft_init(&(weft_config){.workers = 1});
    if (r == 0)
        r = weft_shutdown();
    return r;
}

/* A WEFT_TRACE that cannot be written is refused at weft_init with -EINVAL
 * and a line naming it; an empty one means unset. */
TEST(trace_bad_env_refused)
{
    settle();
    static char long_path[PATH_MAX + 8];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    const struct env_case cases[] = {
        {"/nonexistent-weft-dir/t.json", "weft: WEFT_TRACE=/nonexistent-weft-dir/t.json: cannot"},
        {"/", "weft: WEFT_TRACE=/: cannot write a trace there: Is a directory"},
        {long_path, "expected a file path shorter than PATH_MAX"},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static char buf[PATH_MAX + 4096];
        int ret;
        int status = run_in_child(env_body, (void *)&cases[i], &ret, buf, sizeof buf);
        EXPECT(WIFEXITED(status));
        if (cases[i].message) {
            EXPECT_EQ(ret, -EINVAL);
            EXPECT(strstr(buf, cases[i].message) != NULL);
        } else {
            EXPECT_EQ(ret, 0);
        }
        if (ret != (cases[i].message ? -EINVAL : 0) ||
            (cases[i].message && !strstr(buf, cases[i].message)))
            show_child_output(buf);
    }
}

static int monitor_body(void *arg)
{
    const char *p = arg;
    static char buf[1 << 20];
    /* Nothing else would start the monitor: no stall detector, no
     * schedtrace, no SIGQUIT. */
    setenv("WEFT_DEBUG", "stall=0", 1);
    int r = weft_init(&(weft_config){.workers = 2});
    if (r)
        return r;
    if ((r = weft_trace_start(p)) != 0 || (r = run_named("early", 50)) != 0)
        return r;
    /* The monitor flushes every 10 ms; give it 10 s on a loaded machine. */
    int64_t give_up = weft_now() + 10000 * MS;
    while (slurp(p, buf, sizeof buf) >= 0 && !strstr(buf, "\"name\":\"early #") &&
           weft_now() < give_up)
        weft_sleep(MS);
    bool seen = strstr(buf, "\"name\":\"early #") != NULL;
    if ((r = weft_trace_stop()) != 0 || (r = weft_shutdown()) != 0)
        return r;
    return seen ? 0 : 100;
}

/* With nothing else running the monitor, weft_trace_start starts it, and
 * slices reach the file before the trace stops. */
TEST(trace_monitor_writes_while_recording)
{
    settle();
    static char buf[4096];
    int ret;
    int status =
        run_in_child(monitor_body, (void *)tmp_path("monitor.json"), &ret, buf, sizeof buf);
    EXPECT(WIFEXITED(status));
    EXPECT_EQ(ret, 0);
    if (ret)
        show_child_output(buf);
}

/* weft_shutdown finishes a trace still recording: the file is complete. */
TEST(trace_shutdown_finishes_file)
{
    settle();
    const char *p = tmp_path("shutdown.json");
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    CHECK_OK(weft_trace_start(p));
    CHECK_OK(run_named("before-shutdown", 20));
    CHECK_OK(weft_shutdown());
    static char buf[1 << 20];
    CHECK(slurp(p, buf, sizeof buf) > 0);
    EXPECT(finished(buf));
    EXPECT(strstr(buf, "\"name\":\"before-shutdown #") != NULL);
    EXPECT(strstr(buf, "\"dropped_events\":0") != NULL);
}

static void *two_traces(void *arg)
{
    const char **p = arg;
    int r;
    if ((r = weft_trace_start(p[0])) != 0 || (r = run_named("first-only", 10)) != 0 ||
        (r = weft_trace_stop()) != 0)
        return (void *)(intptr_t)r;
    if ((r = run_named("between", 10)) != 0)
        return (void *)(intptr_t)r;
    if ((r = weft_trace_start(p[1])) != 0 || (r = run_named("second-only", 10)) != 0 ||
        (r = weft_trace_stop()) != 0)
        return (void *)(intptr_t)r;
    return NULL;
}

/* Started and stopped from a fiber, twice: each file is complete and holds
 * the fibers that ran while it recorded, and only those; the fiber that
 * started it has a slice. */
TEST(trace_twice_from_a_fiber)
{
    settle();
    const char *p[2] = {tmp_path("one.json"), tmp_path("two.json")};
    weft_fiber_attr attr = {.name = "tracer"};
    void *res = (void *)1;
    CHECK_OK(weft_init(&(weft_config){.workers = 2}));
    weft_fiber f;
    CHECK_OK(weft_spawn(&f, two_traces, (void *)p, &attr));
    CHECK_OK(weft_join(f, &res));
    CHECK_OK(weft_shutdown());
    EXPECT(res == NULL);
    static char one[1 << 20], two[1 << 20];
    CHECK(slurp(p[0], one, sizeof one) > 0 && slurp(p[1], two, sizeof two) > 0);
    EXPECT(finished(one));
    EXPECT(finished(two));
    EXPECT(strstr(one, "\"name\":\"first-only #") != NULL);
    EXPECT(strstr(one, "\"name\":\"tracer #") != NULL);
    EXPECT(strstr(two, "\"name\":\"second-only #") != NULL);
    EXPECT(strstr(two, "\"name\":\"tracer #") != NULL);
    EXPECT(strstr(one, "between") == NULL);
    EXPECT(strstr(two, "between") == NULL);
    EXPECT(strstr(two, "first-only") == NULL);
}

int main(void)
{
    /* No stall detector: its report reads the name of a fiber that may be
     * ending (monitor.c), which TSan flags; the trace starts the monitor. */
    setenv("WEFT_DEBUG", "stall=0", 1);
    int r = tap_run();
    if (dir[0]) {
        const char *names[] = {"misuse.json", "monitor.json", "shutdown.json", "one.json",
                               "two.json"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char p[128];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return r;
}
