// Template for the portable micro-kernel, included by ukr_generic.c once per
// dtype with T (the element type), SFX (f32/f64), MR and NR defined.
//
// Plain C that the compiler may vectorise for the baseline target: the
// accumulator tile is a local array, the i loop is innermost and unit-stride.
// No FMA contraction is asked for (ISO C mode), so results are the same on
// every machine.

#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define UKR MG_CAT(ukr_generic_, SFX)

static void UKR(mg_index_t k, const T *MG_RESTRICT a, mg_index_t lda,
                const T *MG_RESTRICT b, mg_index_t ldb, T alpha, T beta, T *c,
                mg_index_t cs_c, const T *bias_r, const T *bias_c, int relu) {
    // Packed B (ldb == 0) steps NR along p and 1 along j; in place, 1 and ldb.
    const mg_index_t bp = ldb ? 1 : NR, bj = ldb ? ldb : 1;
    // Packed A (lda == 0) steps MR along p; in place, lda.
    const mg_index_t ap = lda ? lda : MR;
    T ab[NR][MR];
    for (int j = 0; j < NR; ++j)
        for (int i = 0; i < MR; ++i)
            ab[j][i] = 0;
    for (mg_index_t p = 0; p < k; ++p) {
        for (int j = 0; j < NR; ++j) {
            const T bv = b[j * bj];
            for (int i = 0; i < MR; ++i)
                ab[j][i] += a[i] * bv;
        }
        a += ap;
        b += bp;
    }
    for (int j = 0; j < NR; ++j) {
        T *cj = c + j * cs_c;
        for (int i = 0; i < MR; ++i) {
            T v = alpha * ab[j][i];
            if (beta != 0)
                v += beta * cj[i];
            if (bias_r)
                v += bias_r[i];
            if (bias_c)
                v += bias_c[j];
            // NOTE: written so that NaN stays NaN, like torch.relu.
            if (relu && v < 0)
                v = 0;
            cj[i] = v;
        }
    }
}

#undef UKR
#undef MG_CAT
#undef MG_CAT2
