// Template for the SIMD micro-kernels, included by ukr_x86.c once per ISA and
// dtype. The includer defines:
//   T, UKR (function name), TARGET (the __attribute__((target)) string),
//   VEC (vector type), VL (lanes), NR (the packed B panel's width), NCOL
//   (the columns this kernel computes: NR, or fewer for the narrow kernels
//   that finish an edge panel without multiplying its zero padding), and the
//   operations
//   V_LOAD (aligned), V_LOADU, V_STOREU, V_SET1, V_ZERO,
//   V_FMA(a, b, c) = a * b + c, V_MUL, V_ADD, V_MAX.
//
// The tile is MR = 2 * VL rows by NCOL columns. The 2 * NCOL accumulators
// stay in registers: each step p loads the two A vectors (column p of the A
// micro-panel) and broadcasts NCOL values of row p of B, so a step is
// 2 * NCOL independent FMAs, enough to cover the FMA latency on two pipes for
// NCOL >= 4 (the 2-column AVX2 edge kernels run at half rate, still better
// than multiplying padding). B is packed (ldb == 0: b[p * NR + j]) or read
// in place from a source whose panel columns run along p (b[j * ldb + p]);
// A likewise packed (lda == 0: a[p * MR + i], 64-byte aligned) or in place
// (a[p * lda + i], any alignment). Assumes: rs_c == 1.

__attribute__((target(TARGET))) static void
UKR(mg_index_t k, const T *MG_RESTRICT a, mg_index_t lda,
    const T *MG_RESTRICT b, mg_index_t ldb, T alpha, T beta, T *c,
    mg_index_t cs_c, const T *bias_r, const T *bias_c, int relu) {
    VEC acc0[NCOL], acc1[NCOL];
#pragma GCC unroll 16
    for (int j = 0; j < NCOL; ++j) {
        acc0[j] = V_ZERO();
        acc1[j] = V_ZERO();
    }
    // The k loop, for A packed (step 2 * VL, aligned: LOAD_A = V_LOAD) or
    // read in place (step lda, LOAD_A = V_LOADU), times B packed or in
    // place: four copies, so that the packed-A loops compile exactly as they
    // did before A could be read in place (a run-time step there measured
    // 3.5% slower on 1024x256x10 float32, where each A panel is read once).
#define UKR_K_LOOP_PACKED_B(LOAD_A, AS)                                        \
    for (mg_index_t p = 0; p < k; ++p) {                                       \
        const VEC a0 = LOAD_A(a);                                              \
        const VEC a1 = LOAD_A(a + VL);                                         \
        _Pragma("GCC unroll 16") for (int j = 0; j < NCOL; ++j) {              \
            const VEC bj = V_SET1(b[j]);                                       \
            acc0[j] = V_FMA(a0, bj, acc0[j]);                                  \
            acc1[j] = V_FMA(a1, bj, acc1[j]);                                  \
        }                                                                      \
        a += (AS);                                                             \
        b += NR;                                                               \
    }
    // B in place: column j at bq[j / 3] + (j % 3) * ldb: up to four moving
    // pointers and one stride register cover 12 columns in x86 addressing
    // modes.
#define UKR_K_LOOP_INPLACE_B(LOAD_A, AS)                                       \
    for (mg_index_t p = 0; p < k; ++p) {                                       \
        const VEC a0 = LOAD_A(a);                                              \
        const VEC a1 = LOAD_A(a + VL);                                         \
        _Pragma("GCC unroll 16") for (int j = 0; j < NCOL; ++j) {              \
            const VEC bj = V_SET1(bq[j / 3][(j % 3) * ldb]);                   \
            acc0[j] = V_FMA(a0, bj, acc0[j]);                                  \
            acc1[j] = V_FMA(a1, bj, acc1[j]);                                  \
        }                                                                      \
        a += (AS);                                                             \
        _Pragma("GCC unroll 4") for (int q = 0; q < NQ; ++q) bq[q] += 1;       \
    }
    if (ldb == 0) {
        if (lda == 0)
            UKR_K_LOOP_PACKED_B(V_LOAD, 2 * VL)
        else
            UKR_K_LOOP_PACKED_B(V_LOADU, lda)
    } else {
        enum { NQ = (NCOL + 2) / 3 };
        const T *bq[NQ];
#pragma GCC unroll 4
        for (int q = 0; q < NQ; ++q)
            bq[q] = b + 3 * q * ldb;
        if (lda == 0)
            UKR_K_LOOP_INPLACE_B(V_LOAD, 2 * VL)
        else
            UKR_K_LOOP_INPLACE_B(V_LOADU, lda)
    }
#undef UKR_K_LOOP_PACKED_B
#undef UKR_K_LOOP_INPLACE_B

    // Adding a zero bias vector when there is none costs one add per column
    // per tile: cheaper than a branch, and one code path.
    const VEC va = V_SET1(alpha), vb = V_SET1(beta), zero = V_ZERO();
    const VEC br0 = bias_r ? V_LOADU(bias_r) : zero;
    const VEC br1 = bias_r ? V_LOADU(bias_r + VL) : zero;
#pragma GCC unroll 16
    for (int j = 0; j < NCOL; ++j) {
        T *cj = c + j * cs_c;
        VEC v0 = V_MUL(acc0[j], va), v1 = V_MUL(acc1[j], va);
        // NOTE: beta == 0 must not read C (it may hold NaN).
        if (beta != 0) {
            v0 = V_FMA(vb, V_LOADU(cj), v0);
            v1 = V_FMA(vb, V_LOADU(cj + VL), v1);
        }
        v0 = V_ADD(v0, br0);
        v1 = V_ADD(v1, br1);
        if (bias_c) {
            const VEC bc = V_SET1(bias_c[j]);
            v0 = V_ADD(v0, bc);
            v1 = V_ADD(v1, bc);
        }
        if (relu) {
            // max(0, v) returns its second operand when either is NaN, so
            // NaN propagates like torch.relu.
            v0 = V_MAX(zero, v0);
            v1 = V_MAX(zero, v1);
        }
        V_STOREU(cj, v0);
        V_STOREU(cj + VL, v1);
    }
}
