// Template for the SIMD micro-kernels, included by ukr_x86.c once per ISA and
// dtype. The includer defines:
//   T, UKR (function name), TARGET (the __attribute__((target)) string),
//   VEC (vector type), VL (lanes), NR, and the operations
//   V_LOAD (aligned), V_LOADU, V_STOREU, V_SET1, V_ZERO,
//   V_FMA(a, b, c) = a * b + c, V_MUL, V_ADD, V_MAX.
//
// The tile is MR = 2 * VL rows by NR columns. The 2 * NR accumulators stay in
// registers: each step p loads the two A vectors (column p of the A
// micro-panel) and broadcasts NR values of row p of the B micro-panel, so a
// step is 2 * NR independent FMAs, enough to cover the FMA latency on two
// pipes. Assumes: a is 64-byte aligned (packed by the driver), rs_c == 1.

__attribute__((target(TARGET))) static void
UKR(mg_index_t k, const T *MG_RESTRICT a, const T *MG_RESTRICT b, T alpha,
    T beta, T *c, mg_index_t cs_c, const T *bias_r, const T *bias_c,
    int relu) {
    VEC acc0[NR], acc1[NR];
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
        acc0[j] = V_ZERO();
        acc1[j] = V_ZERO();
    }
    mg_index_t p = 0;
    for (; p < k; ++p) {
        const VEC a0 = V_LOAD(a);
        const VEC a1 = V_LOAD(a + VL);
#pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
            const VEC bj = V_SET1(b[j]);
            acc0[j] = V_FMA(a0, bj, acc0[j]);
            acc1[j] = V_FMA(a1, bj, acc1[j]);
        }
        a += 2 * VL;
        b += NR;
    }

    // Adding a zero bias vector when there is none costs one add per column
    // per tile: cheaper than a branch, and one code path.
    const VEC va = V_SET1(alpha), vb = V_SET1(beta), zero = V_ZERO();
    const VEC br0 = bias_r ? V_LOADU(bias_r) : zero;
    const VEC br1 = bias_r ? V_LOADU(bias_r + VL) : zero;
#pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
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
