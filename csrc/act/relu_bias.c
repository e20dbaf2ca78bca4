// Linear+ReLU backward and the bias gradient in one pass (see mg_act.h,
// mg_relu_bias_bwd_*).
//
// Each row is one vector loop over a block of columns: z = y <= 0 ? 0 : g,
// stored to gz and added to db. The column sums therefore run down the rows
// in order, one accumulator per column (numpy's add.reduce over axis 0 does
// the same for a C-contiguous array, so the results are equal bit for bit),
// and every ISA and every thread count gives the same bits: a select and an
// add are exact IEEE operations, and threads split the columns, never the
// rows, so no column's sum is ever cut in two.
//
// Layouts: y and gz have unit column stride; g has any row stride and a
// column stride of 1 (read in place: the usual case, or a row broadcast with
// row stride 0) or 0 (one value per row, e.g. the broadcast scalar that
// .sum() or .mean() sends back, which has its own loop). The wrapper copies
// any other g: for a transposed 64x128 float32 g, a numpy copy then this pass
// took 4.6 us, a gather of each row into a stack buffer 7.3 us (the strided
// reads touch a new cache line per element).
#include <stdint.h>
#include <string.h>

#include "mg_act.h"
#include "mg_cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "act/vmath.h"

// Columns per block: a block's db and one row of each operand stay in L1.
#define RB_COLS 512

// Four rows of z = y <= 0 ? 0 : g, stored to gz (the body of rb_row4). g is
// read unconditionally, before the select: a read in one arm of `?:` would
// be a conditional load, which the baseline target (SSE2) cannot vectorise.
#define RB_ROW4_BODY(T_)                                                      \
    T_ g0 = g[j], g1 = g[g_rs + j], g2 = g[2 * g_rs + j];                     \
    T_ g3 = g[3 * g_rs + j];                                                  \
    T_ z0 = y[j] <= 0 ? (T_)0 : g0;                                           \
    T_ z1 = y[ldy + j] <= 0 ? (T_)0 : g1;                                     \
    T_ z2 = y[2 * ldy + j] <= 0 ? (T_)0 : g2;                                 \
    T_ z3 = y[3 * ldy + j] <= 0 ? (T_)0 : g3;                                 \
    gz[j] = z0;                                                               \
    gz[ldgz + j] = z1;                                                        \
    gz[2 * ldgz + j] = z2;                                                    \
    gz[3 * ldgz + j] = z3;

// One row: z = y <= 0 ? 0 : GV (GV: g[j], or one value for the row), stored
// to gz and, unless db is NULL, added to db; `first` (row 0) starts the sums
// at +0 (0 + z, not z: a column of -0 sums to +0, as in numpy's add.reduce
// and PyTorch's sum). g is read before the select (see RB_ROW4_BODY).
#define RB_ROW_LOOPS(T_, GV)                                                  \
    if (db == NULL) {                                                         \
        _Pragma("omp simd") for (mg_index_t j = 0; j < n; j++) {              \
            T_ gj = (GV);                                                     \
            gz[j] = y[j] <= 0 ? (T_)0 : gj;                                   \
        }                                                                     \
    } else if (first) {                                                       \
        _Pragma("omp simd") for (mg_index_t j = 0; j < n; j++) {              \
            T_ gj = (GV);                                                     \
            T_ z = y[j] <= 0 ? (T_)0 : gj;                                    \
            gz[j] = z;                                                        \
            db[j] = (T_)0 + z;                                                \
        }                                                                     \
    } else {                                                                  \
        _Pragma("omp simd") for (mg_index_t j = 0; j < n; j++) {              \
            T_ gj = (GV);                                                     \
            T_ z = y[j] <= 0 ? (T_)0 : gj;                                    \
            gz[j] = z;                                                        \
            db[j] += z;                                                       \
        }                                                                     \
    }

// The vector loops, one per ISA. db may be NULL.
#define RB_LOOPS_ONE(T_, SUF, ISA, ATTR)                                      \
    ATTR static void rb_row_##SUF##_##ISA(mg_index_t n, const T_ *y,         \
                                          const T_ *g, T_ *gz, T_ *db,        \
                                          int first) {                        \
        RB_ROW_LOOPS(T_, g[j])                                                \
    }                                                                         \
    /* four rows at once: one load and store of db per four rows, the */     \
    /* same additions in the same order (db + z0, then + z1, ...) */          \
    ATTR static void rb_row4_##SUF##_##ISA(                                   \
        mg_index_t n, const T_ *y, mg_index_t ldy, const T_ *g,               \
        mg_index_t g_rs, T_ *gz, mg_index_t ldgz, T_ *db, int first) {        \
        if (first) {                                                          \
            _Pragma("omp simd") for (mg_index_t j = 0; j < n; j++) {          \
                RB_ROW4_BODY(T_)                                              \
                db[j] = ((((T_)0 + z0) + z1) + z2) + z3;                      \
            }                                                                 \
        } else {                                                              \
            _Pragma("omp simd") for (mg_index_t j = 0; j < n; j++) {          \
                RB_ROW4_BODY(T_)                                              \
                db[j] = (((db[j] + z0) + z1) + z2) + z3;                      \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    /* the same with one g value for the whole row (column stride 0) */       \
    ATTR static void rb_rowb_##SUF##_##ISA(mg_index_t n, const T_ *y, T_ gv,  \
                                           T_ *gz, T_ *db, int first) {       \
        RB_ROW_LOOPS(T_, gv)                                                  \
    }

typedef void (*rb_row_f32_t)(mg_index_t, const float *, const float *,
                             float *, float *, int);
typedef void (*rb_row_f64_t)(mg_index_t, const double *, const double *,
                             double *, double *, int);
typedef void (*rb_row4_f32_t)(mg_index_t, const float *, mg_index_t,
                              const float *, mg_index_t, float *, mg_index_t,
                              float *, int);
typedef void (*rb_row4_f64_t)(mg_index_t, const double *, mg_index_t,
                              const double *, mg_index_t, double *,
                              mg_index_t, double *, int);
typedef void (*rb_rowb_f32_t)(mg_index_t, const float *, float, float *,
                              float *, int);
typedef void (*rb_rowb_f64_t)(mg_index_t, const double *, double, double *,
                              double *, int);

#if MG_X86_TARGETS
#define RB_LOOPS(T_, SUF)                                                     \
    RB_LOOPS_ONE(T_, SUF, generic, )                                          \
    RB_LOOPS_ONE(T_, SUF, avx2, MG_TGT_AVX2)                                  \
    RB_LOOPS_ONE(T_, SUF, avx512, MG_TGT_AVX512)
#define RB_PICK(NAME, SUF, isa)                                               \
    ((isa) == MG_ISA_AVX512 ? NAME##_##SUF##_avx512                           \
     : (isa) == MG_ISA_AVX2 ? NAME##_##SUF##_avx2                             \
                            : NAME##_##SUF##_generic)
#else
#define RB_LOOPS(T_, SUF) RB_LOOPS_ONE(T_, SUF, generic, )
#define RB_PICK(NAME, SUF, isa) NAME##_##SUF##_generic
#endif

RB_LOOPS(float, f32)
RB_LOOPS(double, f64)

// How many threads: the pass streams three arrays like relu's backward, so
// the activations' bound (MG_ACT_PAR_MIN elements), and at least two column
// blocks of a whole cache line each. Not confirmed on a quiet machine: on the
// loaded 2-CPU one available (load ~9), two threads were slower than one at
// every size tried (65k-4M float32 elements, e.g. 1024x1024 472 vs 318 us),
// so the bound is at least not too low for these sizes; Linear passes
// backend._kernel_threads(), which gives one thread under such load.
static int rb_threads(mg_index_t rows, mg_index_t cols, int nthreads,
                      mg_index_t elems_per_line) {
#ifdef _OPENMP
    if (nthreads < 2 || cols < 2 * elems_per_line)
        return 1;
    if (rows * cols < (mg_index_t)MG_ACT_PAR_MIN)
        return 1;
    mg_index_t most = cols / elems_per_line;
    return most < nthreads ? (int)most : nthreads;
#else
    (void)rows;
    (void)cols;
    (void)nthreads;
    (void)elems_per_line;
    return 1;
#endif
}

// One block of columns [c0, c0 + n), all rows in order.
#define RB_DEF_BLOCK(T_, SUF)                                                 \
    typedef struct {                                                          \
        rb_row_##SUF##_t row;                                                 \
        rb_row4_##SUF##_t row4;                                               \
        rb_rowb_##SUF##_t rowb;                                               \
    } rb_fns_##SUF;                                                           \
    static void rb_block_##SUF(const rb_fns_##SUF *fns, mg_index_t rows,      \
                               mg_index_t c0, mg_index_t n, const T_ *y,      \
                               mg_index_t ldy, const T_ *g, mg_index_t g_rs,  \
                               mg_index_t g_cs, T_ *gz, mg_index_t ldgz,      \
                               T_ *db) {                                      \
        rb_row_##SUF##_t row = fns->row;                                      \
        rb_rowb_##SUF##_t rowb = fns->rowb;                                   \
        T_ *dbc = db != NULL ? db + c0 : NULL;                                \
        mg_index_t i = 0;                                                     \
        if (g_cs == 1 && dbc != NULL)                                         \
            for (; i + 4 <= rows; i += 4)                                     \
                fns->row4(n, y + i * ldy + c0, ldy, g + i * g_rs + c0, g_rs,  \
                          gz + i * ldgz + c0, ldgz, dbc, i == 0);             \
        for (; i < rows; i++) {                                               \
            const T_ *yr = y + i * ldy + c0;                                  \
            const T_ *gr = g + i * g_rs + c0 * g_cs;                          \
            T_ *zr = gz + i * ldgz + c0;                                      \
            if (g_cs == 1)                                                    \
                row(n, yr, gr, zr, dbc, i == 0);                              \
            else                                                              \
                rowb(n, yr, gr[0], zr, dbc, i == 0);                          \
        }                                                                     \
    }                                                                         \
    int mg_relu_bias_bwd_##SUF(mg_index_t rows, mg_index_t cols, const T_ *y, \
                               mg_index_t ldy, const T_ *g, mg_index_t g_rs,  \
                               mg_index_t g_cs, T_ *gz, mg_index_t ldgz,      \
                               T_ *db, int nthreads, int isa) {               \
        int use = mg_cpu_resolve_isa(isa);                                    \
        if (use < 0)                                                          \
            return -1;                                                        \
        if (g_cs != 0 && g_cs != 1)                                           \
            return -2;                                                        \
        nthreads = mg_threads_clamp(nthreads); /* never trust the caller */   \
        if (cols <= 0)                                                        \
            return 0;                                                         \
        if (rows <= 0) {                                                      \
            if (db != NULL)                                                   \
                memset(db, 0, (size_t)cols * sizeof *db);                     \
            return 0;                                                         \
        }                                                                     \
        rb_fns_##SUF fns = {RB_PICK(rb_row, SUF, use),                        \
                            RB_PICK(rb_row4, SUF, use),                       \
                            RB_PICK(rb_rowb, SUF, use)};                      \
        mg_index_t line = 64 / (mg_index_t)sizeof(T_);                        \
        int nt = rb_threads(rows, cols, nthreads, line);                      \
        /* Blocks of whole cache lines, about one per thread (none wider */   \
        /* than RB_COLS); the split changes no result. */                     \
        mg_index_t width = (cols + nt - 1) / nt;                              \
        width = (width + line - 1) / line * line;                             \
        width = width < RB_COLS ? width : RB_COLS;                            \
        mg_index_t blocks = (cols + width - 1) / width;                       \
        if (nt == 1) { /* no parallel region at all: even one with a */       \
            /* false if clause costs a runtime call */                        \
            for (mg_index_t b = 0; b < blocks; b++)                           \
                rb_block_##SUF(&fns, rows, b * width,                         \
                               cols - b * width < width ? cols - b * width    \
                                                        : width,              \
                               y, ldy, g, g_rs, g_cs, gz, ldgz, db);          \
            return 0;                                                         \
        }                                                                     \
        _Pragma("omp parallel for num_threads(nt)")                           \
        for (mg_index_t b = 0; b < blocks; b++) {                             \
            mg_index_t c0 = b * width;                                        \
            mg_index_t n = cols - c0 < width ? cols - c0 : width;             \
            rb_block_##SUF(&fns, rows, c0, n, y, ldy, g, g_rs, g_cs, gz,      \
                           ldgz, db);                                         \
        }                                                                     \
        return 0;                                                             \
    }

RB_DEF_BLOCK(float, f32)
RB_DEF_BLOCK(double, f64)
