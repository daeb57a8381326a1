/*
 * config.c - merge weft_config with the environment and check every value
 * (config.h). Messages name the variable or field at fault.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stack.h"

/* Parse a whole decimal number with an optional K/M/G suffix (binary). */
static bool parse_size(const char *s, unsigned long long *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift) {
        end++;
        if (v > (~0ull >> shift))
            return false;
        v <<= shift;
    }
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

static int bad(const char *name, const char *value, const char *want)
{
    fprintf(stderr, "weft: %s=%s: expected %s\n", name, value, want);
    return -EINVAL;
}

static int env_workers(int *out)
{
    const char *v = getenv("WEFT_WORKERS");
    unsigned long long n;
    if (!v)
        return 0;
    if (!parse_size(v, &n) || n < 1 || n > WEFT_WORKERS_MAX)
        return bad("WEFT_WORKERS", v, "an integer in 1..1024");
    *out = (int)n;
    return 0;
}

/* A 0-or-1 variable (WEFT_PIN, WEFT_POLL_THREAD). */
static int env_bool(const char *name, bool *out)
{
    const char *v = getenv(name);
    if (!v)
        return 0;
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return bad(name, v, "0 or 1");
    *out = v[0] == '1';
    return 0;
}

static int env_stack_size(size_t *out)
{
    const char *v = getenv("WEFT_STACK_SIZE");
    unsigned long long n;
    if (!v)
        return 0;
    if (!parse_size(v, &n) || wt_stack_check_size((size_t)n, out) != 0)
        return bad("WEFT_STACK_SIZE", v, "a size in 16K..1G (bytes, or with a K/M/G suffix)");
    return 0;
}

static int env_guard(enum weft_guard *out)
{
    const char *v = getenv("WEFT_STACK_GUARD");
    if (!v)
        return 0;
    if (strcmp(v, "madvise") == 0)
        *out = WEFT_GUARD_MADVISE;
    else if (strcmp(v, "mprotect") == 0)
        *out = WEFT_GUARD_MPROTECT;
    else if (strcmp(v, "canary") == 0)
        *out = WEFT_GUARD_CANARY;
    else
        return bad("WEFT_STACK_GUARD", v, "madvise, mprotect or canary");
    return 0;
}

static int env_spawn(enum spawn_policy *out)
{
    const char *v = getenv("WEFT_SPAWN");
    if (!v)
        return 0;
    if (strcmp(v, "help") == 0)
        *out = SPAWN_HELP_FIRST;
    else if (strcmp(v, "work") == 0)
        *out = SPAWN_WORK_FIRST;
    else
        return bad("WEFT_SPAWN", v, "help or work");
    return 0;
}

static int env_deadlock(enum weft_deadlock *out)
{
    const char *v = getenv("WEFT_DEADLOCK");
    if (!v)
        return 0;
    if (strcmp(v, "off") == 0)
        *out = WEFT_DEADLOCK_OFF;
    else if (strcmp(v, "abort") == 0)
        *out = WEFT_DEADLOCK_ABORT;
    else if (strcmp(v, "error") == 0)
        *out = WEFT_DEADLOCK_ERROR;
    else
        return bad("WEFT_DEADLOCK", v, "off, abort or error");
    return 0;
}

/* WEFT_SCHED=seed:N or chaos:N, N a non-zero 64-bit number. */
static int env_sched(uint64_t *seed, bool *chaos)
{
    const char *v = getenv("WEFT_SCHED");
    if (!v)
        return 0;
    const char *num = NULL;
    if (strncmp(v, "seed:", 5) == 0)
        num = v + 5, *chaos = false;
    else if (strncmp(v, "chaos:", 6) == 0)
        num = v + 6, *chaos = true;
    char *end = NULL;
    errno = 0;
    unsigned long long n = num && *num >= '0' && *num <= '9' ? strtoull(num, &end, 10) : 0;
    if (!num || errno || !end || *end || n == 0)
        return bad("WEFT_SCHED", v, "seed:N or chaos:N with N > 0");
    *seed = n;
    return 0;
}

/* MS of a WEFT_DEBUG "name=MS" token: 0..60000. */
static bool parse_ms(const char *v, int *out)
{
    if (*v < '0' || *v > '9')
        return false;
    char *end;
    errno = 0;
    long ms = strtol(v, &end, 10);
    if (errno || *end || ms > 60000)
        return false;
    *out = (int)ms;
    return true;
}

static int env_debug(struct wt_config *c)
{
    static const char expect[] =
        "a comma-separated list of: bind, schedtrace=MS, stall=MS (0: off), sigquit, stats";
    const char *v = getenv("WEFT_DEBUG");
    if (!v || !*v)
        return 0;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        return bad("WEFT_DEBUG", v, expect);
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "bind") == 0)
            c->print_bind = true;
        else if (strcmp(tok, "sigquit") == 0)
            c->sigquit = true;
        else if (strcmp(tok, "stats") == 0)
            c->print_stats = true;
        else if (strncmp(tok, "schedtrace=", 11) == 0 && parse_ms(tok + 11, &c->schedtrace_ms))
            continue;
        else if (strncmp(tok, "stall=", 6) == 0 && parse_ms(tok + 6, &c->stall_ms))
            continue;
        else
            return bad("WEFT_DEBUG", v, expect);
    }
    return 0;
}

/* WEFT_TRACE=FILE: a path; empty means unset. The file is created at
 * start (trace.c), which reports a path it cannot create. */
static int env_trace(const char **out)
{
    const char *v = getenv("WEFT_TRACE");
    if (!v || !*v)
        return 0;
    if (strlen(v) >= PATH_MAX)
        return bad("WEFT_TRACE", v, "a file path shorter than PATH_MAX");
    *out = v;
    return 0;
}

int wt_config_resolve(const weft_config *cfg, int default_workers, struct wt_config *out)
{
    int saved = errno;
    weft_config zero = {0};
    if (!cfg)
        cfg = &zero;
    struct wt_config c = {
        .workers = default_workers > 0 ? default_workers : 1,
        .pin = true,
        .stack_size = WEFT_STACK_DEFAULT,
        .guard = WEFT_GUARD_DEFAULT,
        .print_bind = false,
        .stall_ms = 10,
        .spawn = SPAWN_HELP_FIRST,
    };
    /* An environment variable is read only where its field is zero. */
    int r = cfg->workers ? 0 : env_workers(&c.workers);
    if (!r && cfg->pin == WEFT_PIN_DEFAULT)
        r = env_bool("WEFT_PIN", &c.pin);
    if (!r && !cfg->stack_size)
        r = env_stack_size(&c.stack_size);
    if (!r && cfg->guard == WEFT_GUARD_DEFAULT)
        r = env_guard(&c.guard);
    if (!r)
        r = env_spawn(&c.spawn);
    if (!r)
        r = env_bool("WEFT_POLL_THREAD", &c.poll_thread);
    if (!r)
        r = env_debug(&c);
    if (!r)
        r = env_trace(&c.trace);
    if (!r && cfg->deadlock == WEFT_DEADLOCK_DEFAULT)
        r = env_deadlock(&c.deadlock);
    if (!r && !cfg->sched_seed)
        r = env_sched(&c.sched_seed, &c.sched_chaos);
    errno = saved;
    if (r)
        return r;

    if (cfg->workers < 0 || cfg->workers > WEFT_WORKERS_MAX) {
        fprintf(stderr, "weft: weft_config.workers=%d: expected 0 (default) or 1..1024\n",
                cfg->workers);
        return -EINVAL;
    }
    if (cfg->workers)
        c.workers = cfg->workers;
    switch (cfg->pin) {
    case WEFT_PIN_DEFAULT:
        break;
    case WEFT_PIN_ON:
        c.pin = true;
        break;
    case WEFT_PIN_OFF:
        c.pin = false;
        break;
    default:
        fprintf(stderr, "weft: weft_config.pin=%d: not an enum weft_pin\n", (int)cfg->pin);
        return -EINVAL;
    }
    if (cfg->stack_size && wt_stack_check_size(cfg->stack_size, &c.stack_size) != 0) {
        fprintf(stderr, "weft: weft_config.stack_size=%zu: expected 16K..1G\n", cfg->stack_size);
        return -EINVAL;
    }
    switch (cfg->guard) {
    case WEFT_GUARD_DEFAULT:
        break;
    case WEFT_GUARD_MADVISE:
    case WEFT_GUARD_MPROTECT:
    case WEFT_GUARD_CANARY:
        c.guard = cfg->guard;
        break;
    default:
        fprintf(stderr, "weft: weft_config.guard=%d: not an enum weft_guard\n", (int)cfg->guard);
        return -EINVAL;
    }
    if (cfg->sched_seed) {
        c.sched_seed = cfg->sched_seed;
        c.sched_chaos = cfg->sched_chaos;
    }
    if (c.sched_seed) { /* one worker, help-first: every choice is the generator's */
        c.workers = 1;
        c.spawn = SPAWN_HELP_FIRST;
    }
    switch (cfg->deadlock) {
    case WEFT_DEADLOCK_DEFAULT:
        break;
    case WEFT_DEADLOCK_OFF:
    case WEFT_DEADLOCK_ABORT:
    case WEFT_DEADLOCK_ERROR:
        c.deadlock = cfg->deadlock;
        break;
    default:
        fprintf(stderr, "weft: weft_config.deadlock=%d: not an enum weft_deadlock\n",
                (int)cfg->deadlock);
        return -EINVAL;
    }
    *out = c;
    return 0;
}
