/* cpu.h (aarch64) - cache line size and the spin-wait hint. */
#ifndef WT_CPU_H
#define WT_CPU_H

/*
 * 64 bytes: the data cache line of the Cortex-A and Neoverse cores this
 * runs on, and what Linux (L1_CACHE_BYTES) and Go (CacheLinePadSize) use
 * for arm64. 128 would also be defensible: Apple M-series and Cavium
 * ThunderX lines are 128 bytes, and some Neoverse prefetchers fetch lines
 * in pairs; raise it if false sharing shows up there.
 */
#define WT_CACHE_LINE 64

/*
 * isb, not yield. yield is a hint for SMT cores and a NOP on nearly every
 * shipping aarch64 core, so a spin loop calibrated against x86 pause would
 * hammer the cache line many times faster. isb stalls fetch until the
 * pipeline drains, tens of cycles, the closest thing to pause (Rust's
 * spin_loop since rust-lang/rust#84725; golang/go#69232 argues the same).
 */
static inline void wt_cpu_relax(void)
{
    __asm__ __volatile__("isb" ::: "memory");
}

#endif /* WT_CPU_H */
