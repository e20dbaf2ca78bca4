// Shared definitions for minigrad's C kernels. Plain C11: no Python headers.
#ifndef MG_COMMON_H
#define MG_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef ptrdiff_t mg_index_t;

#if defined(__GNUC__) || defined(__clang__)
#define MG_RESTRICT __restrict__
#else
#define MG_RESTRICT
#endif

// Checked size arithmetic, for kernels that must not trust their caller.
// *out = a * b for a, b >= 0; returns 0 (*out untouched) if either is
// negative or the product does not fit in mg_index_t.
static inline int mg_size_mul(mg_index_t a, mg_index_t b, mg_index_t *out) {
    if (a < 0 || b < 0 || (a != 0 && b > PTRDIFF_MAX / a))
        return 0;
    *out = a * b;
    return 1;
}

// Whether every offset i * rs + j * cs (i < rows, j < cols) of a rows x cols
// operand fits in mg_index_t, for any signs of the strides.
static inline int mg_extent_ok(mg_index_t rows, mg_index_t cols,
                               mg_index_t rs, mg_index_t cs) {
    mg_index_t er = 0, ec = 0;
    if (rows <= 0 || cols <= 0)
        return rows >= 0 && cols >= 0;
    if (rs == PTRDIFF_MIN || cs == PTRDIFF_MIN)
        return 0;
    return mg_size_mul(rows - 1, rs < 0 ? -rs : rs, &er) &&
           mg_size_mul(cols - 1, cs < 0 ? -cs : cs, &ec) &&
           er <= PTRDIFF_MAX - ec;
}

// Thread counts. Every OpenMP parallel region's num_threads clause goes
// through mg_threads_clamp: a kernel never trusts the count it is given.
// MG_THREADS_PER_CPU: the most threads a kernel runs per CPU online (more
// than enough for hyper-threads and oversubscription tests, far below what
// exhausts the OpenMP runtime). minigrad/backend.py caps at the same.
#define MG_THREADS_PER_CPU 4

// MG_THREADS_PER_CPU x the CPUs online (sysconf, as os.cpu_count()).
int mg_threads_max(void);
// `requested` clamped to [1, mg_threads_max()].
int mg_threads_clamp(int requested);

#endif
