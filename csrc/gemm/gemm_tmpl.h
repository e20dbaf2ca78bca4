// Template for the GEMM driver, included by gemm.c once per dtype with
//   T (element type), SFX (f32 / f64), KERNEL (mg_gemm_kernel_f32 / _f64),
//   EXP, TANH (the libm functions for T)
// defined. Every function here is static except the two public entry points
// mg_gemm_<SFX> and mg_gemm_ref_<SFX> (contracts in mg_gemm.h).
//
// Internally a bias is described by a pointer and two strides, bias value for
// C[i, j] = bias[i * inc_bi + j * inc_bj], one of them 0: the driver may swap
// the roles of rows and columns (see mg_gemm_<SFX>), which moves a per-column
// bias onto rows.

// Note [Small products]
// Where the time of a small product went (n = 64 float32, 1 thread, AVX-512,
// min of many calls; the machine shared with other processes): 8.5 us a call,
// of which 1.7 us was the Cython wrapper's Python-level checks (a 1x1x1
// product cost 1.74 us against numpy's 1.1 us), the rest the packed path
// (~5.2 us: 100 GFLOP/s measured on a batch that amortises the wrapper).
// So the wrapper got a fast path (_gemm.pyx, _gemm_fast: C-level checks on
// the common call; 0.52 us for 1x1x1), which put n = 64 at 0.98-1.0x numpy.
// The thresholds, each measured on both sides:
//   - direct (no packing) at or below MG_GEMM_DIRECT_MAX_FMA = 4096
//     multiply-adds: at 16^3 direct and packed tie (10.4 GFLOP/s each, the
//     call's fixed costs dominate), at 32^3 packing wins 74 to 13 (the
//     direct loops do not vectorise across the tile). Matrix-vector products
//     (m or n of 1) stay direct at every size.
//   - a second thread from 2 * MG_GEMM_MIN_FMA_PER_THREAD (~1.3e6 FMAs, n ~
//     110): below it a call is 5-20 us, and starting a sleeping thread costs
//     7 us at best (an empty OpenMP region with passive waiting, on a busy
//     machine) and 20-40 us when the other vCPU is halted, which is what made
//     2 threads lose to 1 at n = 128 (0.48x numpy) and on the MLP shape
//     64x784 @ 784x128 (0.66x). Note [Spinning team] removes that cost for
//     back-to-back calls; the threshold stays where one thread's share is
//     still several times a cold wake-up, so that a lone call is not slower.
//   - with 2 threads the split is along whichever of m, n repacks least
//     (FN(plan_)); for the MLP and square shapes that is two row groups of
//     C^T, each thread packing only its own half of W and reading x in place.
//
// Note [Spinning team]
// The packed path's threads are the GEMM's own (team.c), not OpenMP's: the
// workers spin MG_GEMM_TEAM_SPIN_S = 100 us after a call before they sleep.
// A training step or a benchmark loop calls the GEMM again within
// microseconds, so the worker is found awake: the hand-over then costs about
// what an empty OpenMP region with spinning workers does (0.95 us here)
// instead of a futex wake-up of a halted vCPU. OpenBLAS
// and MKL do the same, for much longer (OpenBLAS: ~0.13 s here), which is
// what Note [Passive OpenMP threads] in minigrad/backend.py guards against;
// 100 us is long enough to bridge the Python between two layers and short
// enough that an idle process gives its core back at once. Measured (load
// 8 on 2 cores, so best-of-many): 64x784 @ 784x128 2 threads 96 -> 144
// GFLOP/s, 256^3 125 -> 199 GFLOP/s. On a busy machine spinning costs:
// the spinning worker yields its core every ~5 us (sched_yield: nothing
// when the core is idle), and the caller, once its own share is done,
// closes the job and waits only for workers that entered it, taking the
// items of one that is still asleep or off its core itself; without these,
// 2-thread calls ran at 0.4-0.8x of the OpenMP version under a load of 6-8,
// with them at 0.94-1.15x. A call that finds the team busy (another Python
// thread's GEMM) runs on OpenMP's threads as before; with num_threads = 1 no
// thread is started or woken at all.

// Note [A in place]
// A micro-panel of A is MR rows by kc steps, read by the micro-kernel one
// column (MR values) per step. When A's rows run along unit stride
// (rs_a == 1), every such column is already a contiguous run in the source,
// so packing A is a plain copy that the kernel can skip by reading the
// source with leading dimension cs_a (FN(a_in_place_), the lda argument of
// the micro-kernels). This is the A of the common row-major C = X @ Y once
// computed as C^T = Y^T X^T: the weight-gradient dW = g^T x of a Linear
// layer (A = x^T), the input gradient dx = g W (A = W^T), and square
// row-major products. Only a last panel of fewer than MR rows is packed
// (the kernel reads MR rows, past the matrix's end there), once per block.
// The summation order is unchanged, so results are bit-identical to the
// packed path. Measured (float32, 1 thread, best of 60 interleaved runs on
// a shared machine, in place / packed): the 784-128-64-10 batch-64 step's
// dW1 128x64x784 0.96, dW2 64x64x128 0.94, dx2 0.94, dW3 10x64x64 0.94;
// square n = 64 0.94, 128 0.97, 256 0.975, 384 0.99; 512 and 768 and the
// batch-256 dW1 1024x256x784 within +-1% (the packing is amortised over n / NR
// panels there, and a packed block streams better), hence in place only up
// to n = MG_GEMM_A_IN_PLACE_MAX_N columns of C. Not when the steps are a
// multiple of 4 KiB apart (2 KiB for float64): the MR-wide columns would then
// share L1 sets, as for B (FN(b_in_place_)). float64 (best of 150): dW1
// 0.94, dW2 0.91, square 64 0.94, 128 0.955, 256-384 within 1%.
// Not done: the forward x @ W^T packs W (a transpose, 128 x 784 = 100k
// values, ~6% of that product's 121 us); with the roles the other way round
// only x (50k) would be packed, but C's tiles would then be rows of a
// row-major C, which the kernel cannot store: through the scratch tile, the
// one-element store costs ~1.5 ns a value (12 us for 64 x 128), more than
// the 3.5 us saved. It would take a kernel that transposes its tile in
// registers before storing.
//
#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define FN(name) MG_CAT(name, SFX)

// The epilogue's activation on one value. Sigmoid is evaluated on the side
// where exp cannot overflow, so sigmoid(+-1000) is exactly 1 / 0, never NaN.
static inline T FN(act_)(T v, int act) {
    switch (act) {
    case MG_ACT_RELU:
        // NOTE: `v < 0` is false for NaN, so NaN stays NaN (torch.relu).
        return v < 0 ? (T)0 : v;
    case MG_ACT_SIGMOID:
        if (v >= 0)
            return (T)1 / ((T)1 + EXP(-v));
        else {
            const T e = EXP(v);
            return e / ((T)1 + e);
        }
    case MG_ACT_TANH:
        return TANH(v);
    default:
        return v;
    }
}

// The oracle: C = act(alpha * A * B + beta * C + bias), one dot product per
// element, summed in order. With alpha == 0 (or k == 0) A and B are not read;
// with beta == 0 C is not read.
void FN(mg_gemm_ref_)(mg_index_t m, mg_index_t n, mg_index_t k, T alpha,
                      const T *a, mg_index_t rs_a, mg_index_t cs_a, const T *b,
                      mg_index_t rs_b, mg_index_t cs_b, T beta, T *c,
                      mg_index_t rs_c, mg_index_t cs_c, const T *bias,
                      mg_index_t inc_bias, int act) {
    for (mg_index_t i = 0; i < m; ++i) {
        for (mg_index_t j = 0; j < n; ++j) {
            T acc = 0;
            if (alpha != 0)
                for (mg_index_t p = 0; p < k; ++p)
                    acc += a[i * rs_a + p * cs_a] * b[p * rs_b + j * cs_b];
            T v = alpha * acc;
            T *cij = c + i * rs_c + j * cs_c;
            if (beta != 0)
                v += beta * *cij;
            if (bias)
                v += bias[j * inc_bias];
            *cij = FN(act_)(v, act);
        }
    }
}

// ---------------------------------------------------------------------------
// The direct path: no packing, for shapes where packing costs more than it
// saves (tiny products, matrix-vector). Single-threaded. The loop order is
// chosen so the innermost loop runs along unit strides when there are any.

static inline T FN(dot_unit_)(mg_index_t k, const T *MG_RESTRICT x,
                              const T *MG_RESTRICT y) {
    // Eight partial sums break the add dependency chain and let the compiler
    // keep them in one vector register.
    T s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    mg_index_t p = 0;
    for (; p + 8 <= k; p += 8)
        for (int u = 0; u < 8; ++u)
            s[u] += x[p + u] * y[p + u];
    T acc = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; p < k; ++p)
        acc += x[p] * y[p];
    return acc;
}

static inline void FN(axpy_unit_)(mg_index_t n, T t, const T *MG_RESTRICT x,
                                  T *MG_RESTRICT y) {
    for (mg_index_t j = 0; j < n; ++j)
        y[j] += t * x[j];
}

// y = beta * y (beta == 0: y = 0 without reading y), n values at stride inc.
static void FN(scale_)(mg_index_t n, T beta, T *y, mg_index_t inc) {
    if (beta == 0)
        for (mg_index_t j = 0; j < n; ++j)
            y[j * inc] = 0;
    else if (beta != 1)
        for (mg_index_t j = 0; j < n; ++j)
            y[j * inc] *= beta;
}

// y = act(y + bias), n values at stride inc; bias at stride inc_bias or NULL.
static void FN(bias_act_)(mg_index_t n, T *y, mg_index_t inc, const T *bias,
                          mg_index_t inc_bias, int act) {
    if (!bias && act == MG_ACT_NONE)
        return;
    for (mg_index_t j = 0; j < n; ++j) {
        T v = y[j * inc];
        if (bias)
            v += bias[j * inc_bias];
        y[j * inc] = FN(act_)(v, act);
    }
}

// x = act(x) on n contiguous values, act sigmoid or tanh: the kernel's vector
// version if it has one, else the scalar loop.
static void FN(act_n_)(const KERNEL *kr, int act, mg_index_t n, T *x) {
    if (kr->act)
        kr->act(act, n, x);
    else
        FN(bias_act_)(n, x, 1, 0, 0, act);
}

// bias_act_ on n contiguous values, the activation vectorised when it can be.
static void FN(bias_act_unit_)(const KERNEL *kr, mg_index_t n, T *y,
                               const T *bias, mg_index_t inc_bias, int act) {
    if (act == MG_ACT_SIGMOID || act == MG_ACT_TANH) {
        FN(bias_act_)(n, y, 1, bias, inc_bias, MG_ACT_NONE);
        FN(act_n_)(kr, act, n, y);
    } else {
        FN(bias_act_)(n, y, 1, bias, inc_bias, act);
    }
}

// Assumes: k > 0, alpha != 0 (handled by the caller).
static void FN(gemm_direct_)(const KERNEL *kr, mg_index_t m, mg_index_t n,
                             mg_index_t k, T alpha, const T *a,
                             mg_index_t rs_a, mg_index_t cs_a, const T *b,
                             mg_index_t rs_b, mg_index_t cs_b,
                             T beta, T *c, mg_index_t rs_c, mg_index_t cs_c,
                             const T *bias, mg_index_t inc_bi,
                             mg_index_t inc_bj, int act) {
    // Three loop orders; take the one whose innermost loop is unit-stride and
    // longest (a dot product of length k, or an axpy of length n or m).
    const mg_index_t dot_len = cs_a == 1 && rs_b == 1 ? k : 0;
    const mg_index_t row_len = cs_b == 1 && cs_c == 1 ? n : 0;
    const mg_index_t col_len = rs_a == 1 && rs_c == 1 ? m : 0;
    if (row_len > dot_len && row_len >= col_len) {
        // Row i of C accumulates rows of B: C[i, :] += alpha A[i, p] B[p, :].
        for (mg_index_t i = 0; i < m; ++i) {
            T *ci = c + i * rs_c;
            FN(scale_)(n, beta, ci, 1);
            for (mg_index_t p = 0; p < k; ++p)
                FN(axpy_unit_)(n, alpha * a[i * rs_a + p * cs_a], b + p * rs_b,
                               ci);
            FN(bias_act_unit_)(kr, n, ci, bias ? bias + i * inc_bi : 0, inc_bj,
                               act);
        }
    } else if (col_len > dot_len) {
        // Column j of C accumulates columns of A.
        for (mg_index_t j = 0; j < n; ++j) {
            T *cj = c + j * cs_c;
            FN(scale_)(m, beta, cj, 1);
            for (mg_index_t p = 0; p < k; ++p)
                FN(axpy_unit_)(m, alpha * b[p * rs_b + j * cs_b], a + p * cs_a,
                               cj);
            FN(bias_act_unit_)(kr, m, cj, bias ? bias + j * inc_bj : 0, inc_bi,
                               act);
        }
    } else {
        // One dot product per element.
        for (mg_index_t i = 0; i < m; ++i) {
            for (mg_index_t j = 0; j < n; ++j) {
                const T *ai = a + i * rs_a, *bj = b + j * cs_b;
                T acc;
                if (cs_a == 1 && rs_b == 1) {
                    acc = FN(dot_unit_)(k, ai, bj);
                } else {
                    acc = 0;
                    for (mg_index_t p = 0; p < k; ++p)
                        acc += ai[p * cs_a] * bj[p * rs_b];
                }
                T v = alpha * acc;
                T *cij = c + i * rs_c + j * cs_c;
                if (beta != 0)
                    v += beta * *cij;
                if (bias)
                    v += bias[i * inc_bi + j * inc_bj];
                *cij = FN(act_)(v, act);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The packed path (BLIS loops, reorganised for threads that never wait on
// each other). C is cut into work items: a group of rows (one group for one
// thread) times a chunk of columns (a run of NR-panels, at most NC wide). An
// item runs the whole K loop on its own, in BLIS order:
//
//   item (rows, jc) -> pc (KC) -> [pack B chunk] -> ic (MC) -> [pack A block]
//                   -> jr (NR) -> ir (MR) -> micro-kernel
//
// Every thread packs into its own buffers, and items are handed out
// dynamically, so there is no barrier inside a call: a thread that is
// descheduled (another process holds its core) just takes fewer items, and
// the others finish the work. The price is that each item packs its own B
// chunk; FN(plan_) chooses the cut, and a B whose columns are contiguous
// (a row-major x in x @ W) is not packed at all but read in place.
//
// Packed A block: micro-panels of MR rows, each kc x MR, column after column
// (zero-padded past the last row). Packed B chunk: micro-panels of NR
// columns, each kc x NR, row after row (zero-padded past the last column).

// Portable packing (contracts: mg_packn_f32 / mg_pack_f32 in
// gemm_internal.h). The compiler turns the unit-stride inner loops into
// vector moves.
static void FN(pack_n_)(int W, mg_index_t rows, mg_index_t kc, const T *src,
                        mg_index_t ld, T *MG_RESTRICT dst) {
    const mg_index_t panel = (mg_index_t)W * kc;
    for (mg_index_t p = 0; p < kc; ++p) {
        const T *s = src + p * ld;
        for (mg_index_t r0 = 0; r0 < rows; r0 += W) {
            const int r_eff = rows - r0 < W ? (int)(rows - r0) : W;
            T *d = dst + r0 / W * panel + p * W;
            for (int r = 0; r < r_eff; ++r)
                d[r] = s[r0 + r];
            for (int r = r_eff; r < W; ++r)
                d[r] = 0;
        }
    }
}

static void FN(pack_t_)(int W, int r_eff, mg_index_t kc, const T *src,
                        mg_index_t ld, T *MG_RESTRICT dst) {
    // p outer: the writes are contiguous and the r_eff source rows are read
    // as parallel sequential streams.
    for (mg_index_t p = 0; p < kc; ++p) {
        T *d = dst + p * W;
        for (int r = 0; r < r_eff; ++r)
            d[r] = src[r * ld + p];
        for (int r = r_eff; r < W; ++r)
            d[r] = 0;
    }
}

// Any strides: dst[p * W + r] = src[r * rs + p * cs].
static void FN(pack_g_)(int W, int r_eff, mg_index_t kc, const T *src,
                        mg_index_t rs, mg_index_t cs, T *MG_RESTRICT dst) {
    for (mg_index_t p = 0; p < kc; ++p) {
        T *d = dst + p * W;
        for (int r = 0; r < r_eff; ++r)
            d[r] = src[r * rs + p * cs];
        for (int r = r_eff; r < W; ++r)
            d[r] = 0;
    }
}

// Packs `rows` rows r (stride rs) by kc steps p (stride cs) as micro-panels
// of width W, panel q at dst + q * W * kc, choosing the routine by which
// stride is 1.
static void FN(pack_block_)(const KERNEL *kr, int W, mg_index_t rows,
                            mg_index_t kc, const T *src, mg_index_t rs,
                            mg_index_t cs, T *dst) {
    if (rs == 1) {
        (kr->pack_n ? kr->pack_n : FN(pack_n_))(W, rows, kc, src, cs, dst);
        return;
    }
    for (mg_index_t r0 = 0; r0 < rows; r0 += W) {
        const int r_eff = rows - r0 < W ? (int)(rows - r0) : W;
        const T *s = src + r0 * rs;
        T *d = dst + r0 * kc;
        if (cs == 1)
            (kr->pack_t ? kr->pack_t : FN(pack_t_))(W, r_eff, kc, s, rs, d);
        else
            FN(pack_g_)(W, r_eff, kc, s, rs, cs, d);
    }
}

// Writes an edge or strided tile held in `ab` (column-major, leading
// dimension ld) to C: C = act(alpha * ab + beta * C + bias) on mr x nr.
// With contiguous columns (rs_c == 1) and no libm activation, each step of
// the epilogue is its own loop over a column, which the compiler vectorises:
// the same operations in the same order per element as the general loop
// (bit-identical), at a fraction of its time (the one-element-at-a-time loop
// with four tests per element took 1 of the 2.5 us of a 10x64x64 product).
static void FN(store_tile_)(int mr, int nr, const T *ab, int ld, T alpha,
                            T beta, T *c, mg_index_t rs_c, mg_index_t cs_c,
                            const T *bias_r, const T *bias_c, int act) {
    if (rs_c == 1 && (act == MG_ACT_NONE || act == MG_ACT_RELU)) {
        for (int j = 0; j < nr; ++j) {
            T *MG_RESTRICT cj = c + j * cs_c;
            const T *MG_RESTRICT t = ab + j * ld;
            if (beta != 0)
                for (int i = 0; i < mr; ++i)
                    cj[i] = alpha * t[i] + beta * cj[i];
            else
                for (int i = 0; i < mr; ++i)
                    cj[i] = alpha * t[i];
            if (bias_r)
                for (int i = 0; i < mr; ++i)
                    cj[i] += bias_r[i];
            if (bias_c) {
                const T bc = bias_c[j];
                for (int i = 0; i < mr; ++i)
                    cj[i] += bc;
            }
            if (act == MG_ACT_RELU)
                for (int i = 0; i < mr; ++i)
                    cj[i] = cj[i] < 0 ? (T)0 : cj[i];
        }
        return;
    }
    for (int j = 0; j < nr; ++j) {
        for (int i = 0; i < mr; ++i) {
            T v = alpha * ab[i + j * ld];
            T *cij = c + i * rs_c + j * cs_c;
            if (beta != 0)
                v += beta * *cij;
            if (bias_r)
                v += bias_r[i];
            if (bias_c)
                v += bias_c[j];
            *cij = FN(act_)(v, act);
        }
    }
}

// What the micro-kernel sweep over one packed (A block, B chunk) pair needs.
typedef struct {
    const KERNEL *kr;
    mg_index_t kc, n_cur;
    T alpha, beta;
    T *c; // offset to C[0, jc]
    mg_index_t rs_c, cs_c;
    const T *bias_r; // bias per row of C (padded, contiguous) or NULL
    const T *bias_c; // bias per column, offset to column jc, or NULL
    int act;         // applied only on the last pc step (else MG_ACT_NONE)
    // B read in place (see FN(b_in_place_)): column j of the chunk, from
    // step pc, at b_in + j * ldb, or NULL when B is packed.
    const T *b_in;
    mg_index_t ldb;
    // A read in place (see FN(a_in_place_)): row i from step pc at
    // a_in + i + p * lda, or NULL when A is packed.
    const T *a_in;
    mg_index_t lda;
} FN(sweep_);

// Rows [ic, ic + mc_cur) of C times the B chunk (packed in bpack, or read in
// place through s->b_in): every micro-tile.
static void FN(macro_kernel_)(const FN(sweep_) * s, mg_index_t ic,
                              mg_index_t mc_cur, T *apack, T *bpack) {
    const KERNEL *kr = s->kr;
    const int MR = kr->mr, NR = kr->nr;
    const mg_index_t kc = s->kc;
    const int relu = s->act == MG_ACT_RELU;
    const int slow_act = s->act == MG_ACT_SIGMOID || s->act == MG_ACT_TANH;
    _Alignas(64) T tile[MG_GEMM_MAX_TILE];
    // A read in place: the kernel reads MR rows, so a last panel of fewer
    // (which may end at the matrix's end) is packed, once for all of the
    // jr panels.
    const mg_index_t a_edge = s->a_in ? mc_cur / MR * MR : mc_cur;
    if (a_edge < mc_cur)
        FN(pack_block_)(kr, MR, mc_cur - a_edge, kc, s->a_in + ic + a_edge, 1,
                        s->lda, apack);
    for (mg_index_t jr = 0; jr < s->n_cur; jr += NR) {
        const int nr = s->n_cur - jr < NR ? (int)(s->n_cur - jr) : NR;
        const T *bc = s->bias_c ? s->bias_c + jr : 0;
        // An edge panel takes the narrowest kernel that covers its nr
        // columns: the full one would multiply up to 2 / 3 padding (n = 64
        // is 5 * 12 + 4 columns, 11% more FMAs).
        FN(mg_ukr_) ukr = kr->ukr;
        int w = NR;
        for (int q = 0; q < 2 && nr < NR; ++q)
            if (kr->ukr_part[q] && (q + 1) * NR / 3 >= nr) {
                ukr = kr->ukr_part[q], w = (q + 1) * NR / 3;
                break;
            }
        const T *bp = bpack + jr * kc;
        mg_index_t ldb = 0;
        if (s->b_in) {
            bp = s->b_in + jr * s->ldb, ldb = s->ldb;
            if (nr < w) {
                // The kernel reads w columns: copy the nr real ones and zero
                // the rest (bpack is free when B is read in place).
                T *e = bpack;
                for (int j = 0; j < w; ++j)
                    for (mg_index_t p = 0; p < kc; ++p)
                        e[j * kc + p] = j < nr ? bp[j * ldb + p] : (T)0;
                bp = e, ldb = kc;
            }
        }
        for (mg_index_t ir = 0; ir < mc_cur; ir += MR) {
            const int mr = mc_cur - ir < MR ? (int)(mc_cur - ir) : MR;
            const T *ap = apack + ir * kc;
            mg_index_t lda = 0;
            if (s->a_in && ir < a_edge) {
                ap = s->a_in + ic + ir;
                lda = s->lda;
            } else if (s->a_in) {
                ap = apack;
            }
            const T *br = s->bias_r ? s->bias_r + ic + ir : 0;
            T *cij = s->c + (ic + ir) * s->rs_c + jr * s->cs_c;
            if (mr == MR && nr == w && s->rs_c == 1) {
                ukr(kc, ap, lda, bp, ldb, s->alpha, s->beta, cij, s->cs_c, br,
                    bc, relu);
                if (slow_act)
                    for (int j = 0; j < w; ++j)
                        FN(act_n_)(kr, s->act, MR, cij + j * s->cs_c);
            } else {
                // Edge or strided tile: through a scratch tile, with the
                // vector activation afterwards when C's columns are
                // contiguous.
                const int vec_act = slow_act && s->rs_c == 1;
                ukr(kc, ap, lda, bp, ldb, 1, 0, tile, MR, 0, 0, 0);
                FN(store_tile_)(mr, nr, tile, MR, s->alpha, s->beta, cij,
                                s->rs_c, s->cs_c, br, bc,
                                vec_act ? MG_ACT_NONE : s->act);
                if (vec_act)
                    for (int j = 0; j < nr; ++j)
                        FN(act_n_)(kr, s->act, mr, cij + j * s->cs_c);
            }
        }
    }
}

// Assumes x >= 0, y > 0. Written without x + y - 1, which overflows for a
// block size near PTRDIFF_MAX (and then divides by zero further on).
static mg_index_t FN(ceil_div_)(mg_index_t x, mg_index_t y) {
    return x / y + (x % y != 0);
}

// Assumes x >= 0, y > 0 and that the result fits (the callers check).
static mg_index_t FN(round_up_)(mg_index_t x, mg_index_t y) {
    return FN(ceil_div_)(x, y) * y;
}

// The whole problem, shared read-only by the threads.
typedef struct {
    const KERNEL *kr;
    mg_index_t m, n, k;
    mg_index_t mi, nc; // a work item: mi rows by nc columns of C
    mg_index_t mc, kc; // blocks of A within an item
    mg_index_t nj;     // items across the columns
    T alpha, beta;
    const T *a, *b;
    mg_index_t rs_a, cs_a, rs_b, cs_b;
    T *c;
    mg_index_t rs_c, cs_c;
    const T *bias; // padded, contiguous copy or NULL
    int bias_rows, act;
    int b_in_place; // the micro-kernels read B where it is (no B packing)
    int a_in_place; // and A (no A packing)
} FN(job_);

// Whether the micro-kernels read B in place instead of from a packed copy.
// They can when each column of B runs along unit stride (rs_b == 1: the
// A^T of a row-major A, once C^T = B^T A^T is computed for a row-major C);
// packing such a B would be a transpose, the dearest copy, and would be
// repeated by every work item that shares the columns. Except when the
// columns are a multiple of 4 KiB apart (2 KiB for float64): the panel's
// columns then share L1 sets and evict each other. Measured, in place
// against packed: float32 k = 1024 (4 KiB) 0.89-0.96 on 2 threads (n = 1024)
// and k = 512 0.98-1.02; float64 k = 256, 512, 1024 0.94-0.95 on 1 thread;
// other k (1000) 1.03-1.05.
static int FN(b_in_place_)(mg_index_t rs_b, mg_index_t cs_b) {
    // The period in elements (cs_b * sizeof(T) could overflow).
    const mg_index_t period = (sizeof(T) == 8 ? 2048 : 4096) / sizeof(T);
    return rs_b == 1 && cs_b > 1 && cs_b % period != 0;
}

// Whether the micro-kernels read A in place instead of from a packed copy
// (Note [A in place]).
static int FN(a_in_place_)(mg_index_t n, mg_index_t rs_a, mg_index_t cs_a) {
    const mg_index_t period = (sizeof(T) == 8 ? 2048 : 4096) / sizeof(T);
    return rs_a == 1 && cs_a > 0 && cs_a % period != 0 &&
           n <= MG_GEMM_A_IN_PLACE_MAX_N;
}

// Work item `it`: rows [i0, i0 + mi) x columns [jc, jc + nc) of C, all of K,
// in BLIS order: each KC slice of the item's B chunk is packed once and
// swept by every MC block of the item's rows.
static void FN(run_item_)(const FN(job_) * J, mg_index_t it, T *apack,
                          T *bpack) {
    const KERNEL *kr = J->kr;
    const mg_index_t i0 = it / J->nj * J->mi, jc = it % J->nj * J->nc;
    const mg_index_t i1 = J->m - i0 < J->mi ? J->m : i0 + J->mi;
    const mg_index_t n_cur = J->n - jc < J->nc ? J->n - jc : J->nc;
    for (mg_index_t pc = 0; pc < J->k; pc += J->kc) {
        const mg_index_t kc = J->k - pc < J->kc ? J->k - pc : J->kc;
        const int last = pc + kc == J->k;
        const T *bsrc = J->b + pc * J->rs_b + jc * J->cs_b;
        if (!J->b_in_place)
            FN(pack_block_)(kr, kr->nr, n_cur, kc, bsrc, J->cs_b, J->rs_b,
                            bpack);
        const FN(sweep_) s = {
            .kr = kr,
            .kc = kc,
            .n_cur = n_cur,
            .alpha = J->alpha,
            .beta = pc == 0 ? J->beta : (T)1,
            .c = J->c + jc * J->cs_c,
            .rs_c = J->rs_c,
            .cs_c = J->cs_c,
            .bias_r = last && J->bias && J->bias_rows ? J->bias : 0,
            .bias_c = last && J->bias && !J->bias_rows ? J->bias + jc : 0,
            .act = last ? J->act : MG_ACT_NONE,
            .b_in = J->b_in_place ? bsrc : 0,
            .ldb = J->cs_b,
            .a_in = J->a_in_place ? J->a + pc * J->cs_a : 0,
            .lda = J->cs_a,
        };
        for (mg_index_t ic = i0; ic < i1; ic += J->mc) {
            const mg_index_t mc_cur = i1 - ic < J->mc ? i1 - ic : J->mc;
            if (!J->a_in_place)
                FN(pack_block_)(kr, kr->mr, mc_cur, kc,
                                J->a + ic * J->rs_a + pc * J->cs_a, J->rs_a,
                                J->cs_a, apack);
            FN(macro_kernel_)(&s, ic, mc_cur, apack, bpack);
        }
    }
}

// The work items of one call and the threads' shares of the buffer.
typedef struct {
    const FN(job_) * J;
    mg_index_t items;
    atomic_llong next; // the next item not yet taken
    T *buf;            // per thread: a_len + b_len elements
    mg_index_t a_len, b_len;
} FN(crew_);

// Thread `tid`'s part of a call: items taken one at a time until none is
// left, so a thread slowed by another process takes fewer; no thread waits
// for another except at the very end (the caller's join).
static void FN(crew_run_)(void *arg, int tid) {
    FN(crew_) *W = arg;
    T *mine = W->buf + (W->a_len + W->b_len) * tid;
    for (;;) {
        const mg_index_t it = (mg_index_t)atomic_fetch_add(&W->next, 1);
        if (it >= W->items)
            break;
        FN(run_item_)(W->J, it, mine, mine + W->a_len);
    }
}

// The relative cost per element of packing a panel whose rows run along
// stride rs and steps along cs (pack_block_): a straight copy, a transpose,
// or a gather.
static double FN(pack_weight_)(mg_index_t rs, mg_index_t cs) {
    return rs == 1 ? 1 : cs == 1 ? 2 : 4;
}

// Chooses how many row groups (*mg) and column chunks (*nj, of at most nc0
// columns) to cut C into, one work item each. One thread takes one row group
// and the chunks NC gives. With more threads, every item packs its own B
// chunk and A rows (threads share no buffers and never wait on each other),
// so an extra row group repacks B (k * n moves, weight wb; 0 when B is read
// in place) and an extra chunk repacks A (k * m, weight wa). Among the cuts
// that give enough items, take the one that repacks least: for the MLP
// shapes (x of 64 or 256 rows against a wide W, C = x W computed as
// C^T = W^T x^T) that cuts W into row groups and reads x in place.
// Enough items: one per thread when B is packed (each extra item would
// repack a whole B chunk, which costs more than the balance gains on a quiet
// machine: measured 5-15% more CPU time at 256x1024x1024 on 2 threads).
// When B is read in place an extra row group costs no packing, so larger
// products get up to four items per thread (MG_GEMM_ITEM_FMA each at least),
// which lets the dynamic schedule even out threads that run at different
// speeds (another process on one core).
static void FN(plan_)(mg_index_t m, mg_index_t n, mg_index_t k, int MR,
                      int NR, mg_index_t mc0, mg_index_t nc0, int nt,
                      double wa, double wb, mg_index_t *mg, mg_index_t *nj) {
    const mg_index_t tm = FN(ceil_div_)(m, MR), tn = FN(ceil_div_)(n, NR);
    const mg_index_t nj0 = FN(ceil_div_)(n, nc0);
    *mg = 1, *nj = nj0;
    if (nt == 1)
        return;
    mg_index_t want = nt;
    if (wb == 0) {
        const double per_thread =
            (double)m * (double)n * (double)k / nt / MG_GEMM_ITEM_FMA;
        want *= per_thread >= 4 ? 4 : per_thread >= 1 ? (mg_index_t)per_thread
                                                       : 1;
        // Only row groups are free, and only down to MC rows: every MC block
        // sweeps the whole B chunk from L2 or L3, so smaller groups would
        // read B more often. No extra chunks just to reach the count, and a
        // multiple of nt items (7 equal items on 2 threads would leave one
        // idle for an eighth of the time).
        const mg_index_t groups = FN(ceil_div_)(m, mc0) * nj0 / nt * nt;
        if (want > groups)
            want = groups > nt ? groups : nt;
    }
    double best_cost = 0;
    mg_index_t best_items = 0;
    for (mg_index_t i = 1; i <= tm && i <= want; ++i) {
        // Groups of whole micro-tiles: the count actually obtained.
        const mg_index_t bi = FN(ceil_div_)(tm, FN(ceil_div_)(tm, i));
        if (bi != i)
            continue;
        for (mg_index_t j = nj0; j <= tn && j < nj0 + want; ++j) {
            const mg_index_t bj = FN(ceil_div_)(tn, FN(ceil_div_)(tn, j));
            if (bj != j)
                continue;
            const mg_index_t items = i * j;
            const double cost = wb * (double)i * (double)n +
                                wa * (double)j * (double)m;
            const int enough = items >= want, best_enough = best_items >= want;
            if (best_items == 0 || (enough && !best_enough) ||
                (enough == best_enough &&
                 (enough ? cost < best_cost : items > best_items))) {
                best_items = items, best_cost = cost;
                *mg = i, *nj = j;
            }
        }
    }
}

// Assumes: m, n, k > 0; alpha != 0; nt >= 1; mc0/kc0/nc0 > 0; the bias, if
// any, runs along exactly one of rows (inc_bi) or columns (inc_bj).
static int FN(gemm_packed_)(const KERNEL *kr, mg_index_t m, mg_index_t n,
                            mg_index_t k, T alpha, const T *a, mg_index_t rs_a,
                            mg_index_t cs_a, const T *b, mg_index_t rs_b,
                            mg_index_t cs_b, T beta, T *c, mg_index_t rs_c,
                            mg_index_t cs_c, const T *bias, mg_index_t inc_bi,
                            mg_index_t inc_bj, int act, int nt,
                            mg_index_t mc0, mg_index_t kc0, mg_index_t nc0) {
    const int MR = kr->mr, NR = kr->nr;
    mg_index_t mg, nj;
    const int b_in_place = FN(b_in_place_)(rs_b, cs_b);
    FN(plan_)(m, n, k, MR, NR, mc0, nc0, nt, FN(pack_weight_)(rs_a, cs_a),
              b_in_place ? 0 : FN(pack_weight_)(cs_b, rs_b), &mg, &nj);
    // Equal groups, blocks and chunks of whole micro-tiles; K in equal slices
    // so the last one is not a sliver.
    const mg_index_t mi = FN(ceil_div_)(FN(ceil_div_)(m, MR), mg) * MR;
    const mg_index_t mc =
        FN(ceil_div_)(mi / MR, FN(ceil_div_)(mi, mc0)) * MR;
    const mg_index_t nc = FN(ceil_div_)(FN(ceil_div_)(n, NR), nj) * NR;
    const mg_index_t kc = FN(ceil_div_)(k, FN(ceil_div_)(k, kc0));
    const mg_index_t items = FN(ceil_div_)(m, mi) * FN(ceil_div_)(n, nc);
    if (nt > items)
        nt = (int)items;

    // One aligned heap buffer per call: per thread a packed A block and a
    // packed B chunk, then the bias made contiguous and zero-padded to whole
    // micro-tiles.
    const int bias_rows = bias && inc_bj == 0;
    const mg_index_t align = 64 / (mg_index_t)sizeof(T);
    // Every product below is checked before it is formed: the blocks are at
    // most the dims rounded up to whole micro-tiles (the entry point leaves
    // room for that), but their products may still not fit.
    // A read in place packs at most one edge panel per block (MR x kc).
    const int a_in_place = FN(a_in_place_)(n, rs_a, cs_a);
    mg_index_t a_len, b_len, bias_len = 0, per_thread, all;
    if (!mg_size_mul(a_in_place ? MR : mc, kc, &a_len) ||
        !mg_size_mul(kc, nc, &b_len) ||
        a_len > PTRDIFF_MAX - align || b_len > PTRDIFF_MAX - align)
        return MG_GEMM_ENOMEM;
    a_len = FN(round_up_)(a_len, align);
    b_len = FN(round_up_)(b_len, align);
    if (bias)
        bias_len = FN(round_up_)(bias_rows ? FN(round_up_)(m, MR)
                                           : FN(round_up_)(n, NR),
                                 align);
    if (a_len > PTRDIFF_MAX - b_len ||
        !mg_size_mul(a_len + b_len, nt, &per_thread) ||
        per_thread > PTRDIFF_MAX - bias_len ||
        !mg_size_mul(per_thread + bias_len, (mg_index_t)sizeof(T), &all) ||
        all > PTRDIFF_MAX / 2)
        return MG_GEMM_ENOMEM;
    const size_t total = (size_t)all;
    T *buf = aligned_alloc(64, total);
    if (!buf)
        return MG_GEMM_ENOMEM;
    T *bias_buf = buf + (a_len + b_len) * nt;
    if (bias) {
        const mg_index_t len = bias_rows ? m : n;
        const mg_index_t inc = bias_rows ? inc_bi : inc_bj;
        for (mg_index_t i = 0; i < bias_len; ++i)
            bias_buf[i] = i < len ? bias[i * inc] : 0;
    }
    const FN(job_) J = {
        .kr = kr,
        .m = m,
        .n = n,
        .k = k,
        .mi = mi,
        .nc = nc,
        .mc = mc,
        .kc = kc,
        .nj = FN(ceil_div_)(n, nc),
        .alpha = alpha,
        .beta = beta,
        .a = a,
        .b = b,
        .rs_a = rs_a,
        .cs_a = cs_a,
        .rs_b = rs_b,
        .cs_b = cs_b,
        .c = c,
        .rs_c = rs_c,
        .cs_c = cs_c,
        .bias = bias ? bias_buf : 0,
        .bias_rows = bias_rows,
        .act = act,
        .b_in_place = b_in_place,
        .a_in_place = a_in_place,
    };
    FN(crew_) W = {.J = &J, .items = items, .buf = buf, .a_len = a_len,
                   .b_len = b_len};
    atomic_init(&W.next, 0);
    if (nt == 1) {
        // No other thread at all: nothing of OpenMP's runs (see the fork
        // note in minigrad/backend.py).
        FN(crew_run_)(&W, 0);
    } else if (mg_gemm_team_run(nt, FN(crew_run_), &W) != 0) {
        // The team is busy (another thread's call): OpenMP's threads.
#pragma omp parallel num_threads(nt)
        {
#ifdef _OPENMP
            FN(crew_run_)(&W, omp_get_thread_num());
#else
            FN(crew_run_)(&W, 0);
#endif
        }
    }
    free(buf);
    return MG_GEMM_OK;
}

static const KERNEL *FN(kernel_for_)(int isa) {
    switch (isa) {
    case MG_ISA_AVX512:
        return &MG_CAT(mg_gemm_avx512_, SFX);
    case MG_ISA_AVX2:
        return &MG_CAT(mg_gemm_avx2_, SFX);
    default:
        return &MG_CAT(mg_gemm_generic_, SFX);
    }
}

int FN(mg_gemm_)(mg_index_t m, mg_index_t n, mg_index_t k, T alpha, const T *a,
                 mg_index_t rs_a, mg_index_t cs_a, const T *b, mg_index_t rs_b,
                 mg_index_t cs_b, T beta, T *c, mg_index_t rs_c,
                 mg_index_t cs_c, const T *bias, mg_index_t inc_bias, int act,
                 const mg_gemm_opts *opts) {
    const mg_gemm_opts dflt = {MG_ISA_AUTO, 1, MG_GEMM_AUTO, 0, 0, 0};
    if (!opts)
        opts = &dflt;
    if (m < 0 || n < 0 || k < 0 || act < MG_ACT_NONE || act > MG_ACT_TANH ||
        opts->num_threads < 1 || opts->path < MG_GEMM_AUTO ||
        opts->path > MG_GEMM_REF || opts->isa < MG_ISA_AUTO ||
        opts->isa >= MG_ISA_COUNT || opts->mc < 0 || opts->kc < 0 ||
        opts->nc < 0)
        return MG_GEMM_EARG;
    // C never trusts its caller: sizes and strides whose products overflow
    // (an element offset i * rs_a + p * cs_a, a packing buffer mc * kc) are
    // refused before any arithmetic. Dims leave room for rounding up to
    // micro-tiles; each operand's extent must be addressable; no two
    // elements of C may share one address through a zero stride.
    if (m > MG_GEMM_MAX_DIM || n > MG_GEMM_MAX_DIM || k > MG_GEMM_MAX_DIM)
        return MG_GEMM_ESIZE;
    mg_index_t elems;
    if (!mg_size_mul(m, n, &elems) || !mg_size_mul(m, k, &elems) ||
        !mg_size_mul(k, n, &elems) || !mg_extent_ok(m, k, rs_a, cs_a) ||
        !mg_extent_ok(k, n, rs_b, cs_b) || !mg_extent_ok(m, n, rs_c, cs_c) ||
        (bias && !mg_extent_ok(1, n, 0, inc_bias)))
        return MG_GEMM_ESIZE;
    if ((m > 1 && rs_c == 0) || (n > 1 && cs_c == 0))
        return MG_GEMM_EARG;
    const int isa = opts->isa == MG_ISA_AUTO ? mg_cpu_best_isa() : opts->isa;
    const KERNEL *kr = FN(kernel_for_)(isa);
    if (!mg_cpu_has_isa(isa) || !kr->ukr)
        return MG_GEMM_EISA;
    if (m == 0 || n == 0)
        return MG_GEMM_OK;
    if (!bias)
        inc_bias = 0;
    if (opts->path == MG_GEMM_REF || k == 0 || alpha == 0) {
        // Without a product this is C = act(beta * C + bias): the reference
        // loop with k = 0 does exactly that and never touches A or B.
        FN(mg_gemm_ref_)(m, n, opts->path == MG_GEMM_REF ? k : 0, alpha, a,
                         rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c, bias,
                         inc_bias, act);
        return MG_GEMM_OK;
    }
    const double fma = (double)m * (double)n * (double)k;
    const int direct =
        opts->path == MG_GEMM_DIRECT ||
        (opts->path == MG_GEMM_AUTO &&
         (fma <= MG_GEMM_DIRECT_MAX_FMA || m == 1 || n == 1));
    if (direct) {
        FN(gemm_direct_)(kr, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b,
                         beta, c, rs_c, cs_c, bias, 0, inc_bias, act);
        return MG_GEMM_OK;
    }
    // The micro-kernel stores columns of its tile as vectors, so it wants
    // rs_c == 1. For row-major C, compute C^T = B^T A^T instead: swap the
    // operands, the sizes and each operand's strides. The bias, per column of
    // C, becomes per row of C^T.
    mg_index_t inc_bi = 0, inc_bj = inc_bias;
    if (cs_c == 1 && rs_c != 1) {
        const T *t = a;
        a = b;
        b = t;
        mg_index_t s = m;
        m = n;
        n = s;
        s = rs_a;
        mg_index_t s2 = cs_a;
        rs_a = cs_b;
        cs_a = rs_b;
        rs_b = s2;
        cs_b = s;
        s = rs_c;
        rs_c = cs_c;
        cs_c = s;
        inc_bi = inc_bias;
        inc_bj = 0;
    }
    // Threads: one per MG_GEMM_MIN_FMA_PER_THREAD multiply-adds at most.
    int nt = mg_threads_clamp(opts->num_threads);
    const double cap = fma / MG_GEMM_MIN_FMA_PER_THREAD;
    if (cap < nt)
        nt = cap < 1 ? 1 : (int)cap;
    return FN(gemm_packed_)(kr, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b,
                            beta, c, rs_c, cs_c, bias, inc_bi, inc_bj, act, nt,
                            opts->mc ? opts->mc : kr->mc,
                            opts->kc ? opts->kc : kr->kc,
                            opts->nc ? opts->nc : kr->nc);
}

#undef FN
#undef MG_CAT
#undef MG_CAT2
