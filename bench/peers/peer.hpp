/*
 * peer.hpp - the harness of the C++ peers (Boost.Fiber, TBB): the command
 * line, warm-up and timed runs, statistics and the output line, all as
 * weft-bench does them (bench/lib/harness.c, bench/main.c): change together.
 *
 *   weft-bench-<impl> [--workers LIST] [--reps N] [--n N] [--list] [BENCH...]
 *   weft-bench-<impl> --serve --workers W [--n N] BENCH
 *
 * --serve is for scripts/bench.py: one warm-up, a line "ready", then one
 * timed run per line "run" read from stdin, printed with reps=1.
 *
 * A peer whose runtime can be set up for one worker count per process only
 * (Boost.Fiber's work_stealing keeps its thread count in statics) asks for
 * one process per worker count: given a list, it runs itself once per
 * count and collects the children's lines.
 *
 * It also holds the answer checks of fib and skynet, whose sizes, op counts
 * and answers come from bench/lib/fork_join.h, weft-bench's own.
 */
#ifndef WEFT_BENCH_PEER_HPP
#define WEFT_BENCH_PEER_HPP

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "../lib/fork_join.h"

namespace peer
{

inline int64_t now_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The workload starts it when its setup is done, stops it before checking. */
struct Clock {
    int64_t t0 = 0, t1 = 0;
    bool started = false, stopped = false;
    void start()
    {
        started = true;
        t0 = now_ns();
    }
    void stop()
    {
        t1 = now_ns();
        stopped = true;
    }
    /* Figures other than time, " key=value" each, ending the output line
     * (bench_extra() in bench/lib/harness.c). */
    std::string extra;
    void add_extra(const std::string &key, const std::string &value)
    {
        extra += " " + key + "=" + value;
    }
};

struct Bench {
    const char *name;
    const char *what;
    long default_n;
    bool one_worker;                /* measured at workers=1 only */
    const char *(*check_n)(long n); /* nullptr if n is valid, else why not */
    double (*ops)(long n);          /* operations per run, for per_op_ns */
    /* One run of size n on @workers threads: "" if the answer was right,
     * else what was wrong. */
    std::string (*run)(long n, int workers, Clock &c);
};

/* fib's answer check, as Bench::run returns it: "" if @got is F(@n). */
inline std::string check_fib(long n, long got)
{
    if (got == bench_fib_plain(n))
        return "";
    return "fib(" + std::to_string(n) + ") = " + std::to_string(got);
}

/* skynet's answer check: "" if @got is the sum of @n leaves' ordinals. */
inline std::string check_skynet(long n, uint64_t got)
{
    uint64_t want = bench_skynet_sum((uint64_t)n);
    if (got == want)
        return "";
    return "sum " + std::to_string(got) + ", not " + std::to_string(want);
}

struct Result {
    std::string bench;
    int workers = 0;
    long n = 0;
    int reps = 0;
    int64_t median = 0, min = 0, max = 0;
    double per_op = 0;
    bool ok = false;
    std::string extra; /* the last run's Clock::extra */
};

struct Options {
    std::vector<int> workers;
    int reps = 5;
    long n = 0;
    std::vector<const Bench *> selected;
    bool table = true;
    bool serve = false;
};

inline void print_kv(const char *impl, const Result &r)
{
    std::printf("bench=%s impl=%s workers=%d n=%ld reps=%d median_ns=%" PRId64 " min_ns=%" PRId64
                " max_ns=%" PRId64 " per_op_ns=%.2f ok=%d%s\n",
                r.bench.c_str(), impl, r.workers, r.n, r.reps, r.median, r.min, r.max, r.per_op,
                r.ok ? 1 : 0, r.extra.c_str());
    std::fflush(stdout);
}

inline void print_table(const char *impl, const std::vector<Result> &rs)
{
    std::printf("\n%-8s %-6s %7s %10s %5s %11s %11s %11s %10s %3s\n", "bench", "impl", "workers",
                "n", "reps", "median_ms", "min_ms", "max_ms", "ns/op", "ok");
    for (const Result &r : rs)
        std::printf("%-8s %-6s %7d %10ld %5d %11.3f %11.3f %11.3f %10.2f %3s%s\n", r.bench.c_str(),
                    impl, r.workers, r.n, r.reps, (double)r.median / 1e6, (double)r.min / 1e6,
                    (double)r.max / 1e6, r.per_op, r.ok ? "yes" : "NO", r.extra.c_str());
    std::fflush(stdout);
}

/* Parses a line print_kv() wrote; false if it is not one. */
inline bool parse_kv(const char *line, Result &r)
{
    char bench[64];
    int ok = 0;
    if (std::sscanf(line,
                    "bench=%63s impl=%*s workers=%d n=%ld reps=%d median_ns=%" SCNd64
                    " min_ns=%" SCNd64 " max_ns=%" SCNd64 " per_op_ns=%lf ok=%d",
                    bench, &r.workers, &r.n, &r.reps, &r.median, &r.min, &r.max, &r.per_op,
                    &ok) != 9)
        return false;
    r.bench = bench;
    r.ok = ok == 1;
    return true;
}

inline bool parse_long(const char *s, long lo, long hi, long &out)
{
    char *end;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    out = v;
    return true;
}

/* One run of @b; its time in @ns, its extra fields in *@extra if given.
 * false, having said why, if it went wrong. */
inline bool run_once(const Bench &b, int workers, long n, const char *impl, int64_t &ns,
                     std::string *extra = nullptr)
{
    Clock c;
    std::string why = b.run(n, workers, c);
    if (why.empty() && !(c.started && c.stopped))
        why = "the workload did not start and stop the clock";
    if (!why.empty())
        std::fprintf(stderr, "weft-bench-%s: %s: %s\n", impl, b.name, why.c_str());
    ns = c.t1 - c.t0;
    if (extra)
        *extra = c.extra;
    return why.empty();
}

inline Result measure(const Bench &b, int workers, long n, int reps, const char *impl)
{
    Result r;
    r.bench = b.name;
    r.workers = workers;
    r.n = n;
    r.reps = reps;
    int64_t ns;
    r.ok = run_once(b, workers, n, impl, ns); /* the warm-up */
    std::vector<int64_t> samples;
    for (int i = 0; i < reps; i++) {
        r.ok &= run_once(b, workers, n, impl, ns, &r.extra);
        samples.push_back(ns);
    }
    std::sort(samples.begin(), samples.end());
    r.median = (samples[(reps - 1) / 2] + samples[reps / 2]) / 2;
    r.min = samples.front();
    r.max = samples.back();
    double ops = b.ops(n);
    r.per_op = ops > 0 ? (double)r.median / ops : 0.0;
    return r;
}

/* --serve: warm up, then time one run per "run" line of stdin. */
inline int serve(const Bench &b, int workers, long n, const char *impl)
{
    int64_t ns;
    bool all_ok = run_once(b, workers, n, impl, ns);
    std::printf("ready ok=%d\n", all_ok ? 1 : 0);
    std::fflush(stdout);
    char line[64];
    while (std::fgets(line, sizeof line, stdin) && std::strncmp(line, "run", 3) == 0) {
        Result r;
        r.bench = b.name;
        r.workers = workers;
        r.n = n;
        r.reps = 1;
        r.ok = run_once(b, workers, n, impl, ns, &r.extra);
        r.median = r.min = r.max = ns;
        double ops = b.ops(n);
        r.per_op = ops > 0 ? (double)ns / ops : 0.0;
        print_kv(impl, r);
        all_ok = all_ok && r.ok;
    }
    return all_ok ? 0 : 1;
}

/* One process's share of the work: the benchmarks to run at one worker
 * count. A one-worker benchmark runs at workers=1, whatever the list. */
struct Group {
    int workers;
    std::vector<const Bench *> benches;
};

inline std::vector<Group> group_by_workers(const Options &o)
{
    std::vector<Group> groups;
    auto add = [&](int w, const Bench *b) {
        for (Group &g : groups)
            if (g.workers == w) {
                g.benches.push_back(b);
                return;
            }
        groups.push_back(Group{w, {b}});
    };
    for (const Bench *b : o.selected)
        for (size_t w = 0; w < o.workers.size(); w++) {
            if (b->one_worker && w > 0)
                break;
            add(b->one_worker ? 1 : o.workers[w], b);
        }
    return groups;
}

/* Runs this executable once per group; collects the children's lines. */
inline bool run_children(const Options &o, const std::vector<Group> &groups, const char *impl,
                         std::vector<Result> &results)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        std::perror("readlink /proc/self/exe");
        return false;
    }
    self[len] = '\0';
    bool ok = true;
    for (const Group &g : groups) {
        /* Quoted for popen's shell; benchmark names and numbers need none. */
        std::string cmd = "'" + std::string(self) + "' --no-table --workers " +
                          std::to_string(g.workers) + " --reps " + std::to_string(o.reps);
        if (o.n)
            cmd += " --n " + std::to_string(o.n);
        for (const Bench *b : g.benches)
            cmd += std::string(" ") + b->name;
        std::fflush(stdout);
        FILE *p = popen(cmd.c_str(), "r");
        if (!p) {
            std::perror("popen");
            return false;
        }
        char line[512];
        while (std::fgets(line, sizeof line, p)) {
            Result r;
            if (parse_kv(line, r)) {
                std::fputs(line, stdout);
                std::fflush(stdout);
                results.push_back(r);
            }
        }
        int status = pclose(p);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "weft-bench-%s: child for workers=%d failed (status %d)\n", impl,
                         g.workers, status);
            ok = false;
        }
    }
    return ok;
}

/* The whole main() of a peer. @finish, if set, runs before it returns. */
inline int main(int argc, char **argv, const char *impl, const std::vector<Bench> &benches,
                bool one_worker_count_per_process, void (*finish)() = nullptr)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
        long v;
        if (a == "-h" || a == "--help") {
            std::printf("usage: weft-bench-%s [--workers LIST] [--reps N] [--n N] [--list] "
                        "[BENCH...]\n",
                        impl);
            for (const Bench &b : benches)
                std::printf("  %-8s %s\n", b.name, b.what);
            return 0;
        } else if (a == "--list") {
            for (const Bench &b : benches)
                std::printf("%s %ld %s\n", b.name, b.default_n, b.one_worker ? "1" : "any");
            return 0;
        } else if (a == "--serve") {
            o.serve = true;
        } else if (a == "--no-table") {
            o.table = false;
        } else if (a == "--workers" && val) {
            std::string s = val;
            size_t pos = 0;
            o.workers.clear();
            while (true) {
                size_t comma = s.find(',', pos);
                std::string tok = s.substr(pos, comma == std::string::npos ? comma : comma - pos);
                if (!parse_long(tok.c_str(), 1, 1024, v)) {
                    std::fprintf(stderr, "weft-bench-%s: bad --workers '%s'\n", impl, val);
                    return 2;
                }
                o.workers.push_back((int)v);
                if (comma == std::string::npos)
                    break;
                pos = comma + 1;
            }
            i++;
        } else if (a == "--reps" && val) {
            if (!parse_long(val, 1, 100000, v)) {
                std::fprintf(stderr, "weft-bench-%s: bad --reps '%s'\n", impl, val);
                return 2;
            }
            o.reps = (int)v;
            i++;
        } else if (a == "--n" && val) {
            if (!parse_long(val, 1, 1L << 62, v)) {
                std::fprintf(stderr, "weft-bench-%s: bad --n '%s'\n", impl, val);
                return 2;
            }
            o.n = v;
            i++;
        } else {
            auto it = std::find_if(benches.begin(), benches.end(),
                                   [&](const Bench &b) { return a == b.name; });
            if (it == benches.end()) {
                std::fprintf(stderr, "weft-bench-%s: unknown or incomplete argument '%s'\n", impl,
                             a.c_str());
                return 2;
            }
            o.selected.push_back(&*it);
        }
    }
    if (o.workers.empty()) {
        o.workers.push_back(1);
        unsigned cores = std::thread::hardware_concurrency();
        if (cores > 1)
            o.workers.push_back((int)cores);
    }
    if (o.selected.empty())
        for (const Bench &b : benches)
            o.selected.push_back(&b);
    for (const Bench *b : o.selected) {
        const char *why = b->check_n(o.n ? o.n : b->default_n);
        if (why) {
            std::fprintf(stderr, "weft-bench-%s: %s: bad --n %ld: %s\n", impl, b->name, o.n, why);
            return 2;
        }
    }

    if (o.serve) {
        if (o.selected.size() != 1 || o.workers.size() != 1) {
            std::fprintf(stderr,
                         "weft-bench-%s: --serve takes one benchmark and one worker "
                         "count\n",
                         impl);
            return 2;
        }
        const Bench &b = *o.selected[0];
        int rc = serve(b, b.one_worker ? 1 : o.workers[0], o.n ? o.n : b.default_n, impl);
        if (finish)
            finish();
        return rc;
    }

    std::vector<Result> results;
    bool all_ok = true;
    std::vector<Group> groups = group_by_workers(o);
    if (one_worker_count_per_process && groups.size() > 1) {
        all_ok = run_children(o, groups, impl, results);
    } else {
        for (const Bench *b : o.selected) {
            long n = o.n ? o.n : b->default_n;
            for (size_t w = 0; w < o.workers.size(); w++) {
                if (b->one_worker && w > 0)
                    break;
                Result r = measure(*b, b->one_worker ? 1 : o.workers[w], n, o.reps, impl);
                print_kv(impl, r);
                results.push_back(r);
            }
        }
    }
    for (const Result &r : results)
        all_ok = all_ok && r.ok;
    if (o.table)
        print_table(impl, results);
    if (finish)
        finish();
    if (!all_ok)
        std::fprintf(stderr, "weft-bench-%s: some runs gave a wrong answer (ok=0)\n", impl);
    return all_ok ? 0 : 1;
}

} // namespace peer

#endif /* WEFT_BENCH_PEER_HPP */
