// The thread-count guard shared by every kernel that opens an OpenMP
// parallel region (contract in mg_common.h).
//
// Why a cap at all: libgomp creates the team a num_threads clause asks for.
// 65536 threads exhaust the address space for their stacks (a segfault inside
// the runtime) and 2^31 - 1 make it abort on a 480 GB allocation; neither
// can be caught, so the kernels never pass such a number on.
#include <limits.h>

#include "mg_common.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

// CPUs online, as Python's os.cpu_count() counts them (so the Cython and
// Python layers, which cap with os.cpu_count(), agree with C); at least 1.
static long online_cpus(void) {
#if defined(_SC_NPROCESSORS_ONLN)
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n >= 1)
        return n;
#endif
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

static int compute_max(void) {
    const long cpus = online_cpus();
    if (cpus > INT_MAX / MG_THREADS_PER_CPU)
        return INT_MAX / MG_THREADS_PER_CPU * MG_THREADS_PER_CPU;
    return (int)(cpus < 1 ? 1 : cpus) * MG_THREADS_PER_CPU;
}

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>

int mg_threads_max(void) {
    // Cached: glibc's sysconf reads /sys on every call (microseconds). Two
    // threads racing here both store the same value.
    static atomic_int cached;
    int max = atomic_load_explicit(&cached, memory_order_relaxed);
    if (max == 0) {
        max = compute_max();
        atomic_store_explicit(&cached, max, memory_order_relaxed);
    }
    return max;
}
#else
int mg_threads_max(void) { return compute_max(); }
#endif

int mg_threads_clamp(int requested) {
    if (requested <= 1)
        return 1;
    // Every machine allows MG_THREADS_PER_CPU: no system call for the usual
    // counts.
    if (requested <= MG_THREADS_PER_CPU)
        return requested;
    const int max = mg_threads_max();
    return requested < max ? requested : max;
}
