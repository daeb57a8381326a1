/* cpu.h (x86-64) - cache line size and the spin-wait hint. */
#ifndef WT_CPU_H
#define WT_CPU_H

#define WT_CACHE_LINE 64

static inline void wt_cpu_relax(void)
{
    __builtin_ia32_pause();
}

#endif /* WT_CPU_H */
