// Template for the fused (implicit GEMM) forward convolution, included by
// conv_fused.c once per dtype with T, SFX, KERNEL (mg_gemm_kernel_<SFX>) and
// UKR (mg_ukr_<SFX>) defined. See Note [Fused or workspace forward].
//
// The GEMM: rows r = the positions of all images of one group, r = n * P + q
// (L = batch * P rows); columns j = the group's cgo output channels; inner
// index p = (c, kd, kh, kw), kc = cgi * k_sz of them. Work items are
// (group, block of MC rows); each runs the K loop in KC slices:
//   pack the rows' patches (fused gather) -> jr (NR) -> ir (MR) -> ukr
// against W, packed once per call into NR-panels of every KC slice.

#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define FN(name) MG_CAT(name, SFX)

// A run of panel rows that share one output row (image, od, oh): panel rows
// [i0, i0 + len) are output columns ow0 .. ow0 + len - 1. base is NULL for
// rows past the last real one (zero padding of the edge panel).
typedef struct {
    int i0, len;
    const T *base; // x of the image and group
    mg_index_t id0, ih0, iw0; // input position of tap 0 for the first row
} FN(fseg_);

// The whole problem, shared read-only by the threads.
typedef struct {
    const conv3 *G;
    const KERNEL *kr;
    const T *x;
    T *y;
    const T *wpack; // groups x (KC slices of NR-panels), see FN(pack_w_)
    const T *bias;  // groups x cgo_pad, zero-padded, or NULL
    mg_index_t L, mcb, mblocks, kcb, cgo_pad;
    int vec_pack; // the AVX-512 gather (the AVX-512 kernel is in use)
} FN(fjob_);

// Panel rows [r0, r0 + MR) of group g (rows >= L are padding) as segments.
// Returns the count (<= MR).
static int FN(segments_)(const FN(fjob_) * J, mg_index_t g, mg_index_t r0,
                         FN(fseg_) * seg) {
    const conv3 *G = J->G;
    const int MR = J->kr->mr;
    const mg_index_t P = G->out_sz, OH = G->out[1], OW = G->out[2];
    int ns = 0;
    for (int i = 0; i < MR;) {
        const mg_index_t r = r0 + i;
        FN(fseg_) *s = seg + ns++;
        s->i0 = i;
        if (r >= J->L) {
            s->len = MR - i, s->base = 0;
            break;
        }
        const mg_index_t n = r / P, q = r % P;
        const mg_index_t od = q / (OH * OW), oh = q / OW % OH, ow = q % OW;
        mg_index_t len = OW - ow;
        if (len > MR - i)
            len = MR - i;
        if (len > J->L - r)
            len = J->L - r;
        s->len = (int)len;
        s->base = J->x + (n * G->cin + g * G->cgi) * G->in_sz;
        s->id0 = od * G->s[0] - G->p[0];
        s->ih0 = oh * G->s[1] - G->p[1];
        s->iw0 = ow * G->s[2] - G->p[2];
        i += (int)len;
    }
    return ns;
}

// Where segment s reads for tap (kd, kh, kw) of channel 0: element j of
// the segment is s->base[off + j * s2] for j in [lo, hi) (add c * in_sz for
// channel c), zero elsewhere; lo == hi when the tap's input row lies in the
// padding (or the segment is padding).
typedef struct {
    mg_index_t off;
    int lo, hi;
} FN(fspan_);

static inline void FN(tap_span_)(const conv3 *G, const FN(fseg_) * s,
                                 mg_index_t kd, mg_index_t kh, mg_index_t kw,
                                 FN(fspan_) * sp) {
    const mg_index_t D = G->in[0], H = G->in[1], W = G->in[2], s2 = G->s[2];
    const mg_index_t id = s->id0 + kd * G->d[0], ih = s->ih0 + kh * G->d[1];
    sp->off = 0, sp->lo = sp->hi = 0;
    if (!s->base || id < 0 || id >= D || ih < 0 || ih >= H)
        return;
    const mg_index_t iw = s->iw0 + kw * G->d[2], len = s->len;
    // j valid when 0 <= iw + j * s2 < W.
    mg_index_t a, b;
    if (s2 == 1) {
        a = -iw, b = W - iw;
    } else {
        a = iw >= 0 ? 0 : (-iw + s2 - 1) / s2;
        b = W - iw <= 0 ? 0 : (W - iw + s2 - 1) / s2;
    }
    a = a < 0 ? 0 : a > len ? len : a;
    b = b > len ? len : b < a ? a : b;
    sp->off = (id * H + ih) * W + iw;
    sp->lo = (int)a, sp->hi = (int)b;
}

// The fused gather, FN(pack_patches_) and, on x86, FN(pack_patches_avx512_)
// (conv_fused_pack.h, included once per variant).
#define PACK_FN FN(pack_patches_)
#define PACK_VEC 0
#define PACK_ATTR
#include "conv/conv_fused_pack.h"
#undef PACK_FN
#undef PACK_VEC
#undef PACK_ATTR
#if MG_FUSED_X86
#define PACK_FN FN(pack_patches_avx512_)
#define PACK_VEC 1
#define PACK_ATTR MG_FUSED_AVX512
#include "conv/conv_fused_pack.h"
#undef PACK_FN
#undef PACK_VEC
#undef PACK_ATTR
#endif

// W packed for every group and KC slice: slice [pc, pc + kcs) of group g at
// wpack + g * cgo_pad * kc + pc * cgo_pad, as NR-panels of kcs x NR
// (element (p, j) = w[g * cgo + j, pc + p], zero for j >= cgo).
static void FN(pack_w_)(const conv3 *G, const KERNEL *kr, mg_index_t kcb,
                        mg_index_t cgo_pad, const T *w, T *MG_RESTRICT dst) {
    const int NR = kr->nr;
    const mg_index_t kc = G->kc, cgo = G->cgo;
    for (mg_index_t g = 0; g < G->groups; ++g)
        for (mg_index_t pc = 0; pc < kc; pc += kcb) {
            const mg_index_t kcs = kc - pc < kcb ? kc - pc : kcb;
            T *d0 = dst + g * cgo_pad * kc + pc * cgo_pad;
            for (mg_index_t j0 = 0; j0 < cgo_pad; j0 += NR) {
                T *d = d0 + j0 * kcs;
                for (mg_index_t p = 0; p < kcs; ++p)
                    for (int j = 0; j < NR; ++j)
                        d[p * NR + j] =
                            j0 + j < cgo ? w[(g * cgo + j0 + j) * kc + pc + p]
                                         : (T)0;
            }
        }
}

// Item `it`: group it / mblocks, rows [r0, r0 + mcb) of it. apack holds
// mcb (rounded to MR) x kcb.
static void FN(fused_item_)(const FN(fjob_) * J, mg_index_t it, T *apack) {
    const conv3 *G = J->G;
    const KERNEL *kr = J->kr;
    const int MR = kr->mr, NR = kr->nr;
    const mg_index_t g = it / J->mblocks;
    const mg_index_t r0 = it % J->mblocks * J->mcb;
    const mg_index_t rows = J->L - r0 < J->mcb ? J->L - r0 : J->mcb;
    const mg_index_t P = G->out_sz, kc = G->kc, cgo = G->cgo;
    const mg_index_t ystride = G->cout * P; // one image of y
    T *yg = J->y + g * cgo * P;
    _Alignas(64) T tile[MG_GEMM_MAX_TILE];
    for (mg_index_t pc = 0; pc < kc; pc += J->kcb) {
        const mg_index_t kcs = kc - pc < J->kcb ? kc - pc : J->kcb;
        const int first = pc == 0, last = pc + kcs == kc;
        const T beta = first ? (T)0 : (T)1;
#if MG_FUSED_X86
        if (J->vec_pack)
            FN(pack_patches_avx512_)(J, g, r0, rows, pc, kcs, apack);
        else
#endif
            FN(pack_patches_)(J, g, r0, rows, pc, kcs, apack);
        const T *wp = J->wpack + g * J->cgo_pad * kc + pc * J->cgo_pad;
        const T *bias = last && J->bias ? J->bias + g * J->cgo_pad : 0;
        for (mg_index_t jr = 0; jr < cgo; jr += NR) {
            const int nr = cgo - jr < NR ? (int)(cgo - jr) : NR;
            // The narrowest kernel that covers an edge panel (as the GEMM).
            UKR ukr = kr->ukr;
            int wdt = NR;
            for (int q = 0; q < 2 && nr < NR; ++q)
                if (kr->ukr_part[q] && (q + 1) * NR / 3 >= nr) {
                    ukr = kr->ukr_part[q], wdt = (q + 1) * NR / 3;
                    break;
                }
            const T *bp = wp + jr * kcs;
            const T *bc = bias ? bias + jr : 0;
            for (mg_index_t ir = 0; ir < rows; ir += MR) {
                const int mr = rows - ir < MR ? (int)(rows - ir) : MR;
                const T *ap = apack + ir * kcs;
                const mg_index_t r = r0 + ir, n = r / P, q = r % P;
                T *cij = yg + n * ystride + q + jr * P;
                if (mr == MR && nr == wdt && q + MR <= P) {
                    // A whole tile inside one image: straight into y.
                    ukr(kcs, ap, 0, bp, 0, 1, beta, cij, P, 0, bc, 0);
                    continue;
                }
                // Edge tile, or rows spanning two images: through the
                // scratch tile, each row to its own image.
                ukr(kcs, ap, 0, bp, 0, 1, 0, tile, MR, 0, 0, 0);
                mg_index_t nn = n, qq = q;
                for (int i = 0; i < mr; ++i) {
                    T *yi = yg + nn * ystride + qq + jr * P;
                    for (int j = 0; j < nr; ++j) {
                        T v = tile[i + j * MR];
                        if (!first)
                            v += yi[j * P];
                        if (bc)
                            v += bc[j];
                        yi[j * P] = v;
                    }
                    if (++qq == P)
                        qq = 0, ++nn;
                }
            }
        }
    }
}

static const KERNEL *FN(fkernel_)(int risa) {
    switch (risa) {
    case MG_ISA_AVX512:
        return &MG_CAT(mg_gemm_avx512_, SFX);
    case MG_ISA_AVX2:
        return &MG_CAT(mg_gemm_avx2_, SFX);
    default:
        return &MG_CAT(mg_gemm_generic_, SFX);
    }
}

// Assumes: G was validated by mg_conv_canon; batch, c_out, out_sz and kc are
// all > 0 (the caller takes other cases to the workspace path); risa is a
// resolved ISA this CPU runs; num_threads >= 1.
int FN(mg_conv_fwd_fused_)(const conv3 *G, const T *x, const T *w,
                           const T *bias, T *y, int risa, int num_threads) {
    const KERNEL *kr = FN(fkernel_)(risa);
    if (!kr->ukr)
        return MG_CONV_EISA;
    const int MR = kr->mr, NR = kr->nr;
    const mg_index_t L = G->n * G->out_sz; // fits: y's size was checked
    const mg_index_t kc = G->kc, cgo = G->cgo;
    const mg_index_t cgo_pad = (cgo + NR - 1) / NR * NR;
    // K in equal slices of at most KC (no sliver at the end).
    const mg_index_t nsl = (kc + kr->kc - 1) / kr->kc;
    const mg_index_t kcb = (kc + nsl - 1) / nsl;
    const double fma = (double)L * (double)G->cout * (double)kc;
    // Row blocks of at most MC rows; smaller ones when that leaves fewer
    // than four items per thread (rows are never packed twice, so a
    // smaller block costs only B-panel reuse), but never below 4 MR.
    int nt = mg_conv_threads(num_threads, G->groups * ((L + MR - 1) / MR),
                             fma, MG_GEMM_MIN_FMA_PER_THREAD / 2);
    if (nt < 0)
        return MG_CONV_EARG;
    mg_index_t mcb = kr->mc / MR * MR;
    if (nt > 1) {
        const mg_index_t want = 4 * (mg_index_t)nt;
        const mg_index_t per = (L * G->groups + want - 1) / want;
        mg_index_t m = (per / G->groups + MR - 1) / MR * MR;
        if (m < 4 * MR)
            m = 4 * MR;
        if (m < mcb)
            mcb = m;
    }
    if (mcb > (L + MR - 1) / MR * MR)
        mcb = (L + MR - 1) / MR * MR;
    const mg_index_t mblocks = (L + mcb - 1) / mcb;
    const mg_index_t items = mblocks * G->groups;
    if (nt > items)
        nt = (int)items;
    // One buffer: packed W, the padded bias, then one A block per thread.
    const mg_index_t align = 64 / (mg_index_t)sizeof(T);
    mg_index_t wlen, blen = 0, alen, per_t, total;
    mg_index_t gpad;
    if (!mg_size_mul(G->groups, cgo_pad, &gpad) ||
        !mg_size_mul(gpad, kc, &wlen) ||
        !mg_size_mul(mcb, kcb, &alen))
        return MG_CONV_ENOMEM;
    wlen = (wlen + align - 1) / align * align;
    alen = (alen + align - 1) / align * align;
    if (bias)
        blen = (gpad + align - 1) / align * align;
    if (!mg_size_mul(alen, nt, &per_t) || per_t > PTRDIFF_MAX / 4 - wlen - blen ||
        !mg_size_mul(per_t + wlen + blen, (mg_index_t)sizeof(T), &total))
        return MG_CONV_ENOMEM;
    T *buf = aligned_alloc(64, (size_t)total);
    if (!buf)
        return MG_CONV_ENOMEM;
    T *wpack = buf, *bpad = bias ? buf + wlen : 0, *abuf = buf + wlen + blen;
    FN(pack_w_)(G, kr, kcb, cgo_pad, w, wpack);
    if (bias)
        for (mg_index_t g = 0; g < G->groups; ++g)
            for (mg_index_t j = 0; j < cgo_pad; ++j)
                bpad[g * cgo_pad + j] = j < cgo ? bias[g * cgo + j] : (T)0;
    const FN(fjob_) J = {G,   kr,      x,   y,       wpack,
                         bpad, L,     mcb, mblocks, kcb,
                         cgo_pad, risa == MG_ISA_AVX512};
    if (nt == 1) {
        for (mg_index_t it = 0; it < items; ++it)
            FN(fused_item_)(&J, it, abuf);
    } else {
#pragma omp parallel num_threads(nt)
        {
#ifdef _OPENMP
            T *mine = abuf + alen * omp_get_thread_num();
#else
            T *mine = abuf;
#endif
#pragma omp for schedule(dynamic, 1) nowait
            for (mg_index_t it = 0; it < items; ++it)
                FN(fused_item_)(&J, it, mine);
        }
    }
    free(buf);
    return MG_CONV_OK;
}

#undef FN
#undef MG_CAT
#undef MG_CAT2
