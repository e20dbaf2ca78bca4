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
// each other). C is cut into work items: an MC-row block times a chunk of
// columns (a run of NR-panels, at most NC wide). An item runs the whole K
// loop on its own:
//
//   item (ic, jc) -> pc (KC) -> [pack B chunk, pack A block] -> jr (NR)
//                 -> ir (MR) -> micro-kernel
//
// Every thread packs into its own buffers, and items are handed out
// dynamically, so there is no barrier inside a call: a thread that is
// descheduled (another process holds its core) just takes fewer items, and
// the others finish the work. The price is that B is packed once per MC block
// instead of once: (m / MC) * k * n element moves against m * n * k FMAs.
//
// Packed A block: micro-panels of MR rows, each kc x MR, column after column
// (zero-padded past the last row). Packed B chunk: micro-panels of NR
// columns, each kc x NR, row after row (zero-padded past the last column).

// Portable packing (contracts: mg_pack_f32 in gemm_internal.h). The
// compiler turns the unit-stride inner loops into vector moves.
static void FN(pack_n_)(int W, int r_eff, mg_index_t kc, const T *src,
                        mg_index_t ld, T *MG_RESTRICT dst) {
    for (mg_index_t p = 0; p < kc; ++p) {
        const T *s = src + p * ld;
        T *d = dst + p * W;
        for (int r = 0; r < r_eff; ++r)
            d[r] = s[r];
        for (int r = r_eff; r < W; ++r)
            d[r] = 0;
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

// Packs one micro-panel of width W: r_eff rows r (stride rs) by kc steps p
// (stride cs), choosing the routine by which stride is 1.
static void FN(pack_panel_)(const KERNEL *kr, int W, int r_eff, mg_index_t kc,
                            const T *src, mg_index_t rs, mg_index_t cs,
                            T *dst) {
    if (rs == 1)
        (kr->pack_n ? kr->pack_n : FN(pack_n_))(W, r_eff, kc, src, cs, dst);
    else if (cs == 1)
        (kr->pack_t ? kr->pack_t : FN(pack_t_))(W, r_eff, kc, src, rs, dst);
    else
        FN(pack_g_)(W, r_eff, kc, src, rs, cs, dst);
}

// Packs rows [0, mc) x steps [0, kc) of A (already offset to the block) as
// micro-panels of MR rows.
static void FN(pack_a_)(const KERNEL *kr, mg_index_t mc, mg_index_t kc,
                        const T *a, mg_index_t rs_a, mg_index_t cs_a,
                        T *dst) {
    const int MR = kr->mr;
    for (mg_index_t ir = 0; ir < mc; ir += MR) {
        const int mr = mc - ir < MR ? (int)(mc - ir) : MR;
        FN(pack_panel_)(kr, MR, mr, kc, a + ir * rs_a, rs_a, cs_a,
                        dst + ir * kc);
    }
}

// Writes an edge or strided tile held in `ab` (column-major, leading
// dimension ld) to C: C = act(alpha * ab + beta * C + bias) on mr x nr.
static void FN(store_tile_)(int mr, int nr, const T *ab, int ld, T alpha,
                            T beta, T *c, mg_index_t rs_c, mg_index_t cs_c,
                            const T *bias_r, const T *bias_c, int act) {
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
} FN(sweep_);

// Rows [ic, ic + mc_cur) of C times the packed chunk: every micro-tile.
static void FN(macro_kernel_)(const FN(sweep_) * s, mg_index_t ic,
                              mg_index_t mc_cur, const T *apack,
                              const T *bpack) {
    const KERNEL *kr = s->kr;
    const int MR = kr->mr, NR = kr->nr;
    const mg_index_t kc = s->kc;
    const int relu = s->act == MG_ACT_RELU;
    const int slow_act = s->act == MG_ACT_SIGMOID || s->act == MG_ACT_TANH;
    _Alignas(64) T tile[MG_GEMM_MAX_TILE];
    for (mg_index_t jr = 0; jr < s->n_cur; jr += NR) {
        const int nr = s->n_cur - jr < NR ? (int)(s->n_cur - jr) : NR;
        const T *bp = bpack + jr * kc;
        const T *bc = s->bias_c ? s->bias_c + jr : 0;
        for (mg_index_t ir = 0; ir < mc_cur; ir += MR) {
            const int mr = mc_cur - ir < MR ? (int)(mc_cur - ir) : MR;
            const T *ap = apack + ir * kc;
            const T *br = s->bias_r ? s->bias_r + ic + ir : 0;
            T *cij = s->c + (ic + ir) * s->rs_c + jr * s->cs_c;
            if (mr == MR && nr == NR && s->rs_c == 1) {
                kr->ukr(kc, ap, bp, s->alpha, s->beta, cij, s->cs_c, br, bc,
                        relu);
                if (slow_act)
                    for (int j = 0; j < NR; ++j)
                        FN(act_n_)(kr, s->act, MR, cij + j * s->cs_c);
            } else {
                // Edge or strided tile: through a scratch tile, with the
                // vector activation afterwards when C's columns are
                // contiguous.
                const int vec_act = slow_act && s->rs_c == 1;
                kr->ukr(kc, ap, bp, 1, 0, tile, MR, 0, 0, 0);
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

static mg_index_t FN(ceil_div_)(mg_index_t x, mg_index_t y) {
    return (x + y - 1) / y;
}

static mg_index_t FN(round_up_)(mg_index_t x, mg_index_t y) {
    return FN(ceil_div_)(x, y) * y;
}

// The whole problem, shared read-only by the threads.
typedef struct {
    const KERNEL *kr;
    mg_index_t m, n, k, mc, nc, kc, nj;
    T alpha, beta;
    const T *a, *b;
    mg_index_t rs_a, cs_a, rs_b, cs_b;
    T *c;
    mg_index_t rs_c, cs_c;
    const T *bias; // padded, contiguous copy or NULL
    int bias_rows, act;
} FN(job_);

// Work item `it`: rows [ic, ic + mc) x columns [jc, jc + nc) of C, all of K.
static void FN(run_item_)(const FN(job_) * J, mg_index_t it, T *apack,
                          T *bpack) {
    const KERNEL *kr = J->kr;
    const int NR = kr->nr;
    const mg_index_t ic = it / J->nj * J->mc, jc = it % J->nj * J->nc;
    const mg_index_t mc_cur = J->m - ic < J->mc ? J->m - ic : J->mc;
    const mg_index_t n_cur = J->n - jc < J->nc ? J->n - jc : J->nc;
    for (mg_index_t pc = 0; pc < J->k; pc += J->kc) {
        const mg_index_t kc = J->k - pc < J->kc ? J->k - pc : J->kc;
        const int last = pc + kc == J->k;
        const T *bsrc = J->b + pc * J->rs_b + jc * J->cs_b;
        for (mg_index_t jr = 0; jr < n_cur; jr += NR) {
            const int nr = n_cur - jr < NR ? (int)(n_cur - jr) : NR;
            FN(pack_panel_)(kr, NR, nr, kc, bsrc + jr * J->cs_b, J->cs_b,
                            J->rs_b, bpack + jr * kc);
        }
        FN(pack_a_)(kr, mc_cur, kc, J->a + ic * J->rs_a + pc * J->cs_a,
                    J->rs_a, J->cs_a, apack);
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
        };
        FN(macro_kernel_)(&s, ic, mc_cur, apack, bpack);
    }
}

// Chooses how many row blocks (*mb, of at most mc0 rows) and column chunks
// (*nj, of at most nc0 columns) to cut C into. One thread takes the cache
// sizes as they are. With more, every item repacks its slices of A and B, so
// small products get one item per thread, and larger ones up to four per
// thread (MG_GEMM_ITEM_FMA each at least), which lets the dynamic schedule
// even out threads that run at different speeds. Among the cuts that give
// as many items, take the one that repacks least (one more row block
// repacks B, k * n; one more chunk repacks A, k * m).
static void FN(plan_)(mg_index_t m, mg_index_t n, mg_index_t k, int MR,
                      int NR, mg_index_t mc0, mg_index_t nc0, int nt,
                      mg_index_t *mb, mg_index_t *nj) {
    const mg_index_t tm = FN(ceil_div_)(m, MR), tn = FN(ceil_div_)(n, NR);
    const mg_index_t mb0 = FN(ceil_div_)(m, mc0), nj0 = FN(ceil_div_)(n, nc0);
    *mb = mb0, *nj = nj0;
    if (nt == 1)
        return;
    const double per_thread =
        (double)m * (double)n * (double)k / nt / MG_GEMM_ITEM_FMA;
    const mg_index_t want =
        nt * (per_thread >= 4 ? 4 : per_thread >= 1 ? (mg_index_t)per_thread
                                                    : 1);
    double best_cost = 0;
    mg_index_t best_items = 0;
    for (mg_index_t i = mb0; i <= tm && i < mb0 + want; ++i) {
        // Blocks of whole micro-tiles: the count actually obtained.
        const mg_index_t bi = FN(ceil_div_)(tm, FN(ceil_div_)(tm, i));
        if (bi != i)
            continue;
        for (mg_index_t j = nj0; j <= tn && j < nj0 + want; ++j) {
            const mg_index_t bj = FN(ceil_div_)(tn, FN(ceil_div_)(tn, j));
            if (bj != j)
                continue;
            const mg_index_t items = i * j;
            const double cost = (double)i * (double)n + (double)j * (double)m;
            const int enough = items >= want, best_enough = best_items >= want;
            if (best_items == 0 || (enough && !best_enough) ||
                (enough == best_enough &&
                 (enough ? cost < best_cost : items > best_items))) {
                best_items = items, best_cost = cost;
                *mb = i, *nj = j;
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
    mg_index_t mb, nj;
    FN(plan_)(m, n, k, MR, NR, mc0, nc0, nt, &mb, &nj);
    // Equal blocks of whole micro-tiles; K in equal slices so the last one
    // is not a sliver.
    const mg_index_t mc = FN(ceil_div_)(FN(ceil_div_)(m, MR), mb) * MR;
    const mg_index_t nc = FN(ceil_div_)(FN(ceil_div_)(n, NR), nj) * NR;
    const mg_index_t kc = FN(ceil_div_)(k, FN(ceil_div_)(k, kc0));
    const mg_index_t items = FN(ceil_div_)(m, mc) * FN(ceil_div_)(n, nc);
    if (nt > items)
        nt = (int)items;

    // One aligned heap buffer per call: per thread a packed A block and a
    // packed B chunk, then the bias made contiguous and zero-padded to whole
    // micro-tiles.
    const int bias_rows = bias && inc_bj == 0;
    const mg_index_t align = 64 / (mg_index_t)sizeof(T);
    const mg_index_t a_len = FN(round_up_)(mc * kc, align);
    const mg_index_t b_len = FN(round_up_)(kc * nc, align);
    const mg_index_t bias_len =
        !bias ? 0
              : FN(round_up_)(bias_rows ? FN(round_up_)(m, MR)
                                        : FN(round_up_)(n, NR),
                              align);
    const double total =
        ((double)(a_len + b_len) * nt + bias_len) * (double)sizeof(T);
    if (total > (double)PTRDIFF_MAX / 2)
        return MG_GEMM_ENOMEM;
    T *buf = aligned_alloc(64, (size_t)total);
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
        .mc = mc,
        .nc = nc,
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
    };
    if (nt == 1) {
        // No parallel region at all: nothing of OpenMP's runs (see the fork
        // note in minigrad/backend.py).
        for (mg_index_t it = 0; it < items; ++it)
            FN(run_item_)(&J, it, buf, buf + a_len);
    } else {
#pragma omp parallel num_threads(nt)
        {
#ifdef _OPENMP
            T *mine = buf + (a_len + b_len) * omp_get_thread_num();
#else
            T *mine = buf;
#endif
            // nowait: a thread that finds no item left leaves at once; the
            // join at the end of the region is the only wait.
#pragma omp for schedule(dynamic, 1) nowait
            for (mg_index_t it = 0; it < items; ++it)
                FN(run_item_)(&J, it, mine, mine + a_len);
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
    int nt = opts->num_threads;
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
