/* The CPU features the JSON kernels of tensorwire._native.jsonbody choose by (jsonbody_scan.h,
   jsonbody_text.h).  Each kernel has a portable form (SSE2 where the compiler targets it, else
   8 bytes at a time) and, on x86-64 with GCC or Clang, an AVX-512 (BW, VL) form compiled for
   that target alone and chosen at run time: the same results, checked by tests/test_jsontext.py
   on both. */
#ifndef TENSORWIRE_JSONBODY_CPU_H
#define TENSORWIRE_JSONBODY_CPU_H

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TW_JB_AVX512 1
#define TW_JB_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,bmi2")))
#endif

/* Whether the AVX-512 kernels run (set by tw_jb_cpu_init; 0 before it and on other CPUs). */
__attribute__((unused)) static int tw_jb_avx512_ok = 0;

/* Reads the CPU's features once, when the including module is initialised.  The environment
   variable TENSORWIRE_NO_AVX512 (set, not empty and not "0") keeps the portable kernels. */
static void tw_jb_cpu_init(void) {
#ifdef TW_JB_AVX512
    const char *off = getenv("TENSORWIRE_NO_AVX512");
    __builtin_cpu_init();
    tw_jb_avx512_ok = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                      && __builtin_cpu_supports("bmi2") && !(off && off[0] && strcmp(off, "0") != 0);
#endif
}

#endif /* TENSORWIRE_JSONBODY_CPU_H */
