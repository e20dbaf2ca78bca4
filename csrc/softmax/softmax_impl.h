// The softmax kernels for one element type (internal to csrc/softmax):
// softmax.c includes this file once per dtype with T (the type), SUF (f32 or
// f64), EXP (an exp that vectorises; its argument is always <= 0 here),
// EXP_ANY (the same for an argument of any sign: the backward's; EXP is
// exact up to EXP_SAT), LOG and LOG1P defined. See mg_softmax.h for the contract of the exported
// functions.
//
// The per-row work is in softmax_rows.h, compiled here once per instruction
// set (a table of function pointers each); the exported functions below pick
// a table by their `isa` argument, then split rows into tasks for OpenMP.
//
// Note [Short rows]: a loop over one row of 10 classes never reaches the
// vector body (16 floats wide on AVX-512), so per-row loops leave every exp
// scalar. Rows shorter than MG_SM_SHORT are therefore done a block of rows at
// a time: x - max is written for the whole block, exp runs as ONE flat
// vectorised loop over it, then the per-row sums and outputs follow. Longer
// rows are done one at a time with vectorised per-row loops. Blocks hold at
// most MG_SM_BUF elements, so a block's passes stay in L1.

#define FN(name) MG_CAT(name, SUF)

// What one row's loss and gradient need besides its logits (see
// mg_softmax.h): the class weights w (NULL: ones) and their sum W, keep =
// 1 - eps, ec = eps / c, and sc, the factor of every row's loss in the
// reduced output (the gradient is that of Σ sc·loss[i]).
typedef struct {
    const T *w;
    T W, keep, ec, sc;
    int64_t ignore;
    int smooth;
} FN(xent_par);

// The parameters for c classes; sc is 1 until the caller scales it.
static FN(xent_par) FN(xent_par_of)(mg_index_t c, const T *weight,
                                    int64_t ignore_index, double eps) {
    FN(xent_par) P;
    P.w = weight;
    P.W = (T)c;
    if (weight) {
        P.W = 0;
        for (mg_index_t j = 0; j < c; j++)
            P.W += weight[j];
    }
    P.keep = (T)(1.0 - eps);
    P.ec = (T)(eps / (double)c);
    P.sc = 1;
    P.smooth = eps > 0;
    P.ignore = ignore_index;
    return P;
}

// The row kernels of one instruction set (softmax_rows.h).
typedef struct {
    void (*rows_fwd_short)(mg_index_t, mg_index_t, const T *, T *, int, T *);
    void (*row_fwd)(mg_index_t, const T *, T *, int);
    void (*blk_fwd)(mg_index_t, mg_index_t, mg_index_t, const T *, T *, int);
    void (*row_bwd)(mg_index_t, const T *, const T *, T *, int);
    void (*blk_bwd)(mg_index_t, mg_index_t, mg_index_t, const T *, const T *,
                    mg_index_t, T *, int);
    void (*gather_rows)(mg_index_t, mg_index_t, const T *, mg_index_t,
                        mg_index_t, T *);
    void (*xent_rows_short)(mg_index_t, mg_index_t, const T *, const int64_t *,
                            const FN(xent_par) *, T *, T *, T *);
    void (*xent_row_long)(mg_index_t, const T *, int64_t, const FN(xent_par) *,
                          T *, T *, T *);
    void (*xent_bwd_rows)(mg_index_t, mg_index_t, const T *, const T *,
                          const int64_t *, const FN(xent_par) *, const T *,
                          mg_index_t, T *);
    int (*bce_fwd_blk)(mg_index_t, const T *, const T *, const T *, T *);
    void (*bce_bwd_blk)(mg_index_t, const T *, const T *, const T *, const T *,
                        mg_index_t, T *, T *);
    void (*bcel_fwd_blk)(mg_index_t, const T *, const T *, const T *, const T *,
                         T *);
    void (*bcel_bwd_blk)(mg_index_t, const T *, const T *, const T *, const T *,
                         const T *, mg_index_t, T *, T *);
} FN(sm_kern);

#define ISA generic
#define MG_ATTR
#include "softmax/softmax_rows.h"
#undef ISA
#undef MG_ATTR
#if MG_X86_TARGETS
#define ISA avx2
#define MG_ATTR MG_TGT_AVX2
#define TR_TILE TR_AVX2
#define TR_W TR_AVX2_W
#define TR_PF 2
#include "softmax/softmax_rows.h"
#undef ISA
#undef MG_ATTR
#undef TR_TILE
#undef TR_W
#undef TR_PF
#define ISA avx512
#define MG_ATTR MG_TGT_AVX512
#define TR_TILE TR_AVX512
#define TR_W TR_AVX512_W
#define TR_PF 1
#include "softmax/softmax_rows.h"
#undef ISA
#undef MG_ATTR
#undef TR_TILE
#undef TR_W
#undef TR_PF
#endif

// The row kernels for `isa` (MG_ISA_AUTO: the best this CPU runs), or NULL
// when the CPU cannot run it.
static const FN(sm_kern) * FN(kern_for)(int isa) {
    switch (mg_cpu_resolve_isa(isa)) {
#if MG_X86_TARGETS
    case MG_ISA_AVX512:
        return &MG_CAT(FN(kern), avx512);
    case MG_ISA_AVX2:
        return &MG_CAT(FN(kern), avx2);
#endif
    case MG_ISA_GENERIC:
        return &MG_CAT(FN(kern), generic);
    default:
        return NULL;
    }
}

// -- softmax / log_softmax over the last axis --------------------------------

// Rows per task: whole blocks for short rows, else enough rows for ~BUF
// elements, so a task is never tiny.
static mg_index_t FN(rows_per_task)(mg_index_t d) {
    mg_index_t r = MG_SM_BUF / d;
    return r < 1 ? 1 : r;
}

// Rows [i0, i1) of a task (rows_per_task of them): row i of x at x + i·rs,
// C-contiguous y. Short rows need rs = d (a block is one flat loop).
static void FN(fwd_rows)(const FN(sm_kern) * K, mg_index_t i0, mg_index_t i1,
                         mg_index_t d, const T *x, mg_index_t rs, T *y,
                         int log) {
    if (d < MG_SM_SHORT) {
        T buf[MG_SM_BUF];
        K->rows_fwd_short(i1 - i0, d, x + i0 * rs, y + i0 * d, log, buf);
    } else {
        for (mg_index_t i = i0; i < i1; i++)
            K->row_fwd(d, x + i * rs, y + i * d, log);
    }
}

int FN(mg_softmax_fwd)(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const T *x, T *y, int log, int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (outer <= 0 || dim <= 0 || inner <= 0)
        return 0;
    int p = par(outer * dim * inner, nthreads);
    if (inner == 1) {
        mg_index_t rt = FN(rows_per_task)(dim);
        mg_index_t nt = (outer + rt - 1) / rt;
        MG_FOR_TASKS(q, nt, {
            mg_index_t i0 = q * rt, i1 = i0 + rt < outer ? i0 + rt : outer;
            FN(fwd_rows)(K, i0, i1, dim, x, dim, y, log);
        });
        return 0;
    }
    mg_index_t nb = (inner + MG_BLK - 1) / MG_BLK;
    MG_FOR_TASKS(q, outer * nb, {
        mg_index_t o = q / nb, k0 = (q % nb) * MG_BLK;
        mg_index_t b = inner - k0 < MG_BLK ? inner - k0 : MG_BLK;
        mg_index_t off = o * dim * inner + k0;
        K->blk_fwd(dim, inner, b, x + off, y + off, log);
    });
    return 0;
}

// Note [Strided rows]: a sliced x (x[:, ::2], 1000x1000 float32) was copied
// to C order by numpy first, whose strided copy took 278 us against 84 for a
// plain copy (1 thread): the forward took 1.7x its contiguous time. The rows
// are gathered into y instead, a task's rows at a time while y is in L1/L2
// (a stride of 2 through a vector permute, gather_rows), and the row kernels
// run there in place. Rows with contiguous elements are read where they are.
int FN(mg_softmax_fwd_rows)(mg_index_t nr, mg_index_t d, const T *x,
                            mg_index_t rs, mg_index_t cs, T *y, int log,
                            int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (nr <= 0 || d <= 0)
        return 0;
    int p = par(nr * d, nthreads);
    mg_index_t rt = FN(rows_per_task)(d);
    mg_index_t nt = (nr + rt - 1) / rt;
    MG_FOR_TASKS(q, nt, {
        mg_index_t i0 = q * rt, i1 = i0 + rt < nr ? i0 + rt : nr;
        if (cs == 1 && d >= MG_SM_SHORT) {
            FN(fwd_rows)(K, i0, i1, d, x, rs, y, log);
        } else {
            K->gather_rows(i1 - i0, d, x + i0 * rs, rs, cs, y + i0 * d);
            FN(fwd_rows)(K, i0, i1, d, y, d, y, log);
        }
    });
    return 0;
}

// Note [Strided backward]: over a non-last axis (inner > 1) the backward
// walks a block of b inner positions down the d rows twice: Σ over the axis,
// then the output. Each row of the block is a run of b contiguous elements,
// the next run `inner` further on: for inner·sizeof(T) >= 4 KiB a new page
// per run, which the hardware prefetchers do not follow. Measured (1 thread,
// float32, d x inner = 1e6, AVX-512, a standalone C loop timing each block
// width): runs of 64 elements, the old block, which keeps the block in L2
// for the second pass, took 2.5-3.6x the contiguous kernel at d = inner =
// 1000 (the output's short strided runs alone cost more than the first
// pass; software prefetch did not help); 256: 2.3x; 1024: 1.35x (two
// streaming passes, the second re-reading y and gy from L3 rather than L2).
// 1024 was the best or within noise of it for d from 10 to 10^4. Below
// ~1.2x is out of reach this way for softmax with d >= ~300 (the axis' sum
// needs a whole pass before any output; log_softmax, exp-bound, is at
// ~1.0x). So blocks are MG_BWD_BLK wide, narrower only to give every thread
// a block. In bench_softmax.py's layout rows (in-process, a loaded machine)
// softmax's transposed backward went from 2.7-3.4x to 1.7-1.9x.
int FN(mg_softmax_bwd)(mg_index_t outer, mg_index_t dim, mg_index_t inner,
                       const T *y, const T *gy, mg_index_t gs_outer,
                       mg_index_t gs_dim, T *gx, int log, int nthreads,
                       int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (outer <= 0 || dim <= 0 || inner <= 0)
        return 0;
    int p = par(outer * dim * inner, nthreads);
    if (inner == 1) {
        mg_index_t rt = FN(rows_per_task)(dim);
        mg_index_t nt = (outer + rt - 1) / rt;
        MG_FOR_TASKS(q, nt, {
            mg_index_t i0 = q * rt, i1 = i0 + rt < outer ? i0 + rt : outer;
            for (mg_index_t i = i0; i < i1; i++)
                K->row_bwd(dim, y + i * dim, gy + i * gs_outer, gx + i * dim,
                           log);
        });
        return 0;
    }
    mg_index_t nb = (inner + MG_BWD_BLK - 1) / MG_BWD_BLK;
    if (p && outer * nb < mg_threads_clamp(nthreads)) {
        nb = (mg_threads_clamp(nthreads) + outer - 1) / outer;
        nb = nb < inner ? nb : inner;
    }
    mg_index_t w = (inner + nb - 1) / nb; // block width, <= MG_BWD_BLK
    nb = (inner + w - 1) / w;
    MG_FOR_TASKS(q, outer * nb, {
        mg_index_t o = q / nb, k0 = (q % nb) * w;
        mg_index_t b = inner - k0 < w ? inner - k0 : w;
        mg_index_t off = o * dim * inner + k0;
        K->blk_bwd(dim, inner, b, y + off, gy + o * gs_outer + k0, gs_dim,
                   gx + off, log);
    });
    return 0;
}

// Note [Transposed gradient]: the gradient autograd hands the backward is
// not always laid out as y: y = softmax(x, -1) used as y.T @ v gets back the
// transpose of a C-contiguous product (attention's (B, H, T, T) with the last
// two axes swapped). Copying it to y's layout first (numpy's transposing
// copy of a fresh array) took 3.4-5x the contiguous backward (1000x1000,
// float32 and float64, 1 thread), the copy alone 3.5x. So rows are read with
// any strides: a block of MG_GT_ROWS rows of each operand whose rows are not
// contiguous is gathered into a small buffer (64 KiB at d = 1000 float32,
// L2-resident), through in-register tile transposes when the rows are
// adjacent in memory (a 64-byte line holds one element of every row of the
// block), and the row kernel runs on the buffer: the same row_bwd on the same
// values, so the same bits as the contiguous path (its summation order does
// not depend on where the row is; tests/test_softmax_gT.py checks equality).
// Measured (1000x1000, 1 thread, min of interleaved runs on a loaded 2-core
// machine; bench_softmax.py's "y, transposed g" rows): float32 softmax
// 5.3x the contiguous backward before, 1.7-1.9x now, log_softmax 3.1x ->
// 1.4-1.6x; float64 3.4x -> 1.9-2.5x and 1.9x -> 1.7x; y transposed with g
// contiguous (the same path, y gathered) alike. What remains is the gather:
// 0.7x (float32) / 1.0x (float64) of the row kernel's time under perf, one
// line per column of the block from L3, each column on another page (the
// prefetchers stop there). Tried and dropped: blocks of 128 or 256 bytes of
// rows (no better; 256 worse), software prefetch 0-16 tiles ahead (no
// difference above the noise), gathering the next block in slices between
// this block's rows so the misses overlap the row kernel (worse: 2.3-2.9x).
#define MG_GT_ROWS ((mg_index_t)(64 / sizeof(T)))

int FN(mg_softmax_bwd_rows)(mg_index_t nb, mg_index_t nr, mg_index_t d,
                            const T *y, const mg_index_t *ys, const T *gy,
                            const mg_index_t *gs, T *gx, int log,
                            int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (nb <= 0 || nr <= 0 || d <= 0)
        return 0;
    const mg_index_t R = MG_GT_ROWS;
    const int gat_y = ys[2] != 1, gat_g = gs[2] != 1;
    const size_t per = (size_t)R * (size_t)d * (size_t)(gat_y + gat_g);
    mg_index_t nblk = (nr + R - 1) / R, nbt = nb * nblk;
    int p = par(nb * nr * d, nthreads);
    // One task per thread (each gathers into its own buffer); blocks are
    // split between them statically.
    mg_index_t ntask = p ? mg_threads_clamp(nthreads) : 1;
    ntask = ntask < nbt ? ntask : nbt;
    T *ws = NULL;
    if (per) {
        ws = (T *)malloc(per * (size_t)ntask * sizeof(T));
        if (!ws)
            return MG_SOFTMAX_ENOMEM;
    }
    MG_FOR_TASKS(q, ntask, {
        T *wy = ws ? ws + per * (size_t)q : NULL;
        T *wg = wy ? wy + (gat_y ? R * d : 0) : NULL;
        mg_index_t t0 = nbt * q / ntask, t1 = nbt * (q + 1) / ntask;
        for (mg_index_t t = t0; t < t1; t++) {
            mg_index_t b = t / nblk, r0 = (t % nblk) * R;
            mg_index_t rr = nr - r0 < R ? nr - r0 : R;
            const T *yb = y + b * ys[0] + r0 * ys[1];
            const T *gb = gy + b * gs[0] + r0 * gs[1];
            mg_index_t ysr = ys[1], gsr = gs[1];
            if (gat_y) {
                K->gather_rows(rr, d, yb, ys[1], ys[2], wy);
                yb = wy;
                ysr = d;
            }
            if (gat_g) {
                K->gather_rows(rr, d, gb, gs[1], gs[2], wg);
                gb = wg;
                gsr = d;
            }
            T *xb = gx + (b * nr + r0) * d;
            for (mg_index_t r = 0; r < rr; r++)
                K->row_bwd(d, yb + r * ysr, gb + r * gsr, xb + r * d, log);
        }
    });
    free(ws);
    return 0;
}
#undef MG_GT_ROWS

// -- softmax cross-entropy ---------------------------------------------------

int FN(mg_xent_fwd_grad)(mg_index_t n, mg_index_t c, const T *x,
                         const int64_t *target, const T *weight,
                         int64_t ignore_index, double eps, int reduction,
                         T *loss, T *lse, double *total, T *gx, int nthreads,
                         int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (total)
        *total = 0;
    if (!(eps >= 0.0 && eps <= 1.0))
        return MG_SOFTMAX_ESMOOTH;
    if (n <= 0)
        return 0;
    if (c <= 0 || reduction < MG_REDUCE_NONE || reduction > MG_REDUCE_SUM)
        return -1;
    // Validate every target, and sum w[t] over those not ignored (the
    // denominator of the weighted mean), in one pass.
    double denom = 0;
    for (mg_index_t i = 0; i < n; i++) {
        int64_t t = target[i];
        if (t == ignore_index)
            continue;
        if (t < 0 || t >= c)
            return -1;
        denom += weight ? (double)weight[t] : 1.0;
    }
    FN(xent_par) P = FN(xent_par_of)(c, weight, ignore_index, eps);
    // 0/0 = NaN when every target is ignored, as PyTorch's mean.
    P.sc = reduction == MG_REDUCE_MEAN ? (T)(1.0 / denom) : (T)1;
    int p = par(n * c, nthreads);
    mg_index_t rt = c < MG_SM_SHORT ? MG_SM_ROWS : FN(rows_per_task)(c);
    mg_index_t nt = (n + rt - 1) / rt;
    MG_FOR_TASKS(q, nt, {
        mg_index_t i0 = q * rt, i1 = i0 + rt < n ? i0 + rt : n;
        if (c < MG_SM_SHORT) {
            K->xent_rows_short(i1 - i0, c, x + i0 * c, target + i0, &P,
                               loss + i0, lse + i0, gx ? gx + i0 * c : NULL);
        } else {
            for (mg_index_t i = i0; i < i1; i++)
                K->xent_row_long(c, x + i * c, target[i], &P, loss + i, lse + i,
                                 gx ? gx + i * c : NULL);
        }
    });
    if (total && reduction != MG_REDUCE_NONE) {
        // Serially, in double: the same bits whatever the thread count.
        double acc = 0;
        for (mg_index_t i = 0; i < n; i++)
            acc += (double)loss[i];
        *total = reduction == MG_REDUCE_MEAN ? acc / denom : acc;
    }
    return 0;
}

int FN(mg_xent_fwd)(mg_index_t n, mg_index_t c, const T *x,
                    const int64_t *target, const T *weight,
                    int64_t ignore_index, double eps, T *loss, T *lse,
                    int nthreads, int isa) {
    return FN(mg_xent_fwd_grad)(n, c, x, target, weight, ignore_index, eps,
                                MG_REDUCE_NONE, loss, lse, NULL, NULL, nthreads,
                                isa);
}

int FN(mg_xent_bwd)(mg_index_t n, mg_index_t c, const T *x, const T *lse,
                    const int64_t *target, const T *weight,
                    int64_t ignore_index, double eps, const T *scale,
                    mg_index_t inc_scale, T *gx, int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (!(eps >= 0.0 && eps <= 1.0))
        return MG_SOFTMAX_ESMOOTH;
    if (n <= 0)
        return 0;
    if (c <= 0 || bad_targets(n, c, target, ignore_index))
        return -1;
    FN(xent_par) P = FN(xent_par_of)(c, weight, ignore_index, eps);
    int p = par(n * c, nthreads);
    mg_index_t rt = FN(rows_per_task)(c);
    mg_index_t nt = (n + rt - 1) / rt;
    MG_FOR_TASKS(q, nt, {
        mg_index_t i0 = q * rt, i1 = i0 + rt < n ? i0 + rt : n;
        K->xent_bwd_rows(i1 - i0, c, x + i0 * c, lse + i0, target + i0, &P,
                         scale + i0 * inc_scale, inc_scale, gx + i0 * c);
    });
    return 0;
}

// -- binary cross-entropy of probabilities -----------------------------------

int FN(mg_bce_fwd)(mg_index_t n, const T *x, const T *t, const T *w, T *loss,
                   int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (n <= 0)
        return 0;
    int bad = 0;
    mg_index_t nb = (n + 4095) / 4096;
    if (!par(n, nthreads)) { // as MG_FOR_TASKS, with a reduction of `bad`
        for (mg_index_t o = 0; o < n; o += 4096)
            bad |= K->bce_fwd_blk(n - o < 4096 ? n - o : 4096, x + o, t + o,
                                  w ? w + o : w, loss + o);
        return bad ? -1 : 0;
    }
    const int nt_ = mg_threads_clamp(nthreads);
#pragma omp parallel for num_threads(nt_) schedule(static)                     \
    reduction(| : bad)
    for (mg_index_t q = 0; q < nb; q++) {
        mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;
        bad |= K->bce_fwd_blk(len, x + o, t + o, w ? w + o : w, loss + o);
    }
    return bad ? -1 : 0;
}

int FN(mg_bce_bwd)(mg_index_t n, const T *x, const T *t, const T *w, const T *g,
                   mg_index_t inc_g, T *gx, T *gt, int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (n <= 0)
        return 0;
    int p = par(n, nthreads);
    mg_index_t nb = (n + 4095) / 4096;
    MG_FOR_TASKS(q, nb, {
        mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;
        K->bce_bwd_blk(len, x + o, t + o, w ? w + o : w, g + o * inc_g, inc_g,
                       gx ? gx + o : gx, gt ? gt + o : gt);
    });
    return 0;
}

// -- binary cross-entropy with logits ----------------------------------------

int FN(mg_bce_logits_fwd)(mg_index_t n, const T *x, const T *t, const T *w,
                          const T *pw, T *loss, int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (n <= 0)
        return 0;
    int p = par(n, nthreads);
    mg_index_t nb = (n + 4095) / 4096;
    MG_FOR_TASKS(q, nb, {
        mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;
        K->bcel_fwd_blk(len, x + o, t + o, w ? w + o : w, pw ? pw + o : pw,
                        loss + o);
    });
    return 0;
}

int FN(mg_bce_logits_bwd)(mg_index_t n, const T *x, const T *t, const T *w,
                          const T *pw, const T *g, mg_index_t inc_g, T *gx,
                          T *gt, int nthreads, int isa) {
    const FN(sm_kern) *K = FN(kern_for)(isa);
    if (!K)
        return MG_SOFTMAX_EISA;
    if (n <= 0)
        return 0;
    int p = par(n, nthreads);
    mg_index_t nb = (n + 4095) / 4096;
    MG_FOR_TASKS(q, nb, {
        mg_index_t o = q * 4096, len = n - o < 4096 ? n - o : 4096;
        K->bcel_bwd_blk(len, x + o, t + o, w ? w + o : w, pw ? pw + o : pw,
                        g + o * inc_g, inc_g, gx ? gx + o : gx,
                        gt ? gt + o : gt);
    });
    return 0;
}

#undef FN
