// Layout copies (csrc/layout). Plain C: no Python, no numpy.
#ifndef MG_LAYOUT_H
#define MG_LAYOUT_H

#include "mg_common.h"

// Copies the rows x cols matrix whose element (i, j) is src[i + j * ld]
// (column-major, ld >= rows) into dst in row-major order: dst[i * cols + j].
// The operands must not overlap and must be aligned to their element size.
// `isa` is an MG_ISA_* value (MG_ISA_AUTO: the best this CPU runs). Returns 0,
// or -1 without writing anything when a size is negative, ld < rows (for
// cols > 1), an offset of either operand overflows, a pointer is NULL with
// rows * cols > 0, or `isa` cannot run here.
int mg_transpose_copy_f32(mg_index_t rows, mg_index_t cols, const float *src,
                          mg_index_t ld, float *dst, int isa);
int mg_transpose_copy_f64(mg_index_t rows, mg_index_t cols, const double *src,
                          mg_index_t ld, double *dst, int isa);

#endif
