// The fused gather, included by conv_fused_tmpl.h once per variant with
// PACK_FN (its name), PACK_VEC (1: AVX-512 masked moves for the stride-1
// row spans, T's vector macros from conv_fused.c; 0: plain loops) and
// PACK_ATTR (the function's target attribute, or empty) defined.
//
// MR-panels of rows [r0, r0 + rows) of group g, inner indices
// [pc, pc + kcs): dst[panel * MR * kcs + p * MR + i] = the patch entry (zero
// outside x and past the last row). Per inner index p = (c, tap), each
// segment is one input row read along stride s[2] (one masked vector copy
// or a plain copy at stride 1), with zeros where the taps fall in the
// padding. Where a tap's segment reads (row offset, valid span) depends on
// the tap only, not on the channel, so a panel's spans are worked out once
// per tap (FN(tap_span_)) into a table when it fits, and reused by every
// channel of the slice.
// Assumes: the geometry was validated; dst (64-byte aligned) holds
// ceil(rows / MR) * MR * kcs values and does not overlap x.
PACK_ATTR static void PACK_FN(const FN(fjob_) * J, mg_index_t g, mg_index_t r0,
                              mg_index_t rows, mg_index_t pc, mg_index_t kcs,
                              T *MG_RESTRICT dst) {
    const conv3 *G = J->G;
    const int MR = J->kr->mr;
    const mg_index_t K1 = G->k[1], K2 = G->k[2], s2 = G->s[2];
    const mg_index_t kk12 = K1 * K2, ksz = G->k_sz, in_sz = G->in_sz;
    FN(fseg_) seg[MG_FUSED_MAX_MR];
    FN(fspan_) tab[MG_FUSED_TAB];
    for (mg_index_t ir = 0; ir < rows; ir += MR) {
        const int ns = FN(segments_)(J, g, r0 + ir, seg);
        T *panel = dst + ir * kcs;
        // (c, t) of inner index pc, t = (kd, kh, kw), stepped along with p.
        mg_index_t c = pc / ksz, t = pc % ksz;
        const int tabled = ksz * ns <= MG_FUSED_TAB;
        if (tabled)
            for (mg_index_t u = 0; u < ksz; ++u)
                for (int e = 0; e < ns; ++e)
                    FN(tap_span_)(G, seg + e, u / kk12, u / K2 % K1, u % K2,
                                  tab + u * ns + e);
        for (mg_index_t p = 0; p < kcs; ++p) {
            T *out = panel + p * MR;
            for (int e = 0; e < ns; ++e) {
                const FN(fseg_) *s = seg + e;
                FN(fspan_) sp;
                if (tabled)
                    sp = tab[t * ns + e];
                else
                    FN(tap_span_)(G, s, t / kk12, t / K2 % K1, t % K2, &sp);
                T *o = out + s->i0;
                const int len = s->len, lo = sp.lo, hi = sp.hi;
                // Element j of the segment is src[j * s2], j in [lo, hi);
                // the offset is formed before the pointer, which is only
                // ever made for j inside the span.
                const mg_index_t off = c * in_sz + sp.off;
#if PACK_VEC
                if (s2 == 1) {
                    if (lo == 0 && hi == len) {
                        // The whole segment inside the row: the usual case.
                        for (int j = 0; j < len; j += VL) {
                            const int m = len - j < VL ? len - j : VL;
                            const MASKT k = (MASKT)((1u << m) - 1u);
                            V_MSTORE(o + j, k, V_MLOAD(k, s->base + off + j));
                        }
                        continue;
                    }
                    // Zeros over the segment, then the valid span on top:
                    // every address stays inside the row and the panel.
                    for (int j = 0; j < len; j += VL) {
                        const int m = len - j < VL ? len - j : VL;
                        V_MSTORE(o + j, (MASKT)((1u << m) - 1u), V_ZERO());
                    }
                    for (int j = lo; j < hi; j += VL) {
                        const int m = hi - j < VL ? hi - j : VL;
                        const MASKT k = (MASKT)((1u << m) - 1u);
                        V_MSTORE(o + j, k, V_MLOAD(k, s->base + off + j));
                    }
                    continue;
                }
#endif
                int j = 0;
                for (; j < lo; ++j)
                    o[j] = 0;
                for (; j < hi; ++j)
                    o[j] = s->base[off + j * s2];
                for (; j < len; ++j)
                    o[j] = 0;
            }
            if (++t == ksz)
                t = 0, ++c;
        }
    }
}
