// Shared definitions for minigrad's C kernels. Plain C11: no Python headers.
#ifndef MG_COMMON_H
#define MG_COMMON_H

#include <stddef.h>

typedef ptrdiff_t mg_index_t;

#if defined(__GNUC__) || defined(__clang__)
#define MG_RESTRICT __restrict__
#else
#define MG_RESTRICT
#endif

#endif
