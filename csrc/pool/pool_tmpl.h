// Template for the pooling kernels, included by pool.c once per dtype with T,
// UT (the unsigned integer of T's width) and SFX (f32 / f64) defined.
// Contracts in mg_pool.h.

#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define FN(name) MG_CAT(name, SFX)

// Keeps (v, pos) in (*best, *at) when v is larger or NaN (NaN wins and
// propagates, as in PyTorch). The selects are bit masks: on real data which
// tap wins is unpredictable, and the branch a compiler emits for a ?: here
// mispredicts often enough to make max pooling several times slower.
static inline void FN(keep_max_)(T v, int64_t pos, T *best, int64_t *at) {
    const int64_t take = -(int64_t)((v > *best) | (v != v));
    UT vb, bb;
    memcpy(&vb, &v, sizeof vb);
    memcpy(&bb, best, sizeof bb);
    bb = (vb & (UT)take) | (bb & ~(UT)take);
    memcpy(best, &bb, sizeof bb);
    *at = (pos & take) | (*at & ~take);
}

// The max of one window (generic: any taps may fall outside the input).
// Taps [a0, a1) x [b0, b1) were found valid along the first two dims.
static void FN(max_window_)(const pool3 *c, const T *MG_RESTRICT x,
                            mg_index_t id0, mg_index_t ih0, mg_index_t a0,
                            mg_index_t a1, mg_index_t b0, mg_index_t b1,
                            mg_index_t ow, T *y, int64_t *idx) {
    const mg_index_t H = c->in[1], W = c->in[2], d2 = c->d[2];
    mg_index_t t0, t1;
    tap_range(c, 2, ow, &t0, &t1);
    const mg_index_t iw0 = ow * c->s[2] - c->p[2];
    T best = -INFINITY;
    int64_t at = -1;
    if (a0 < a1 && b0 < b1 && t0 < t1) { // the first valid tap starts it
        at = ((id0 + a0 * c->d[0]) * H + ih0 + b0 * c->d[1]) * W + iw0 +
             t0 * d2;
        best = x[at];
    }
    for (mg_index_t a = a0; a < a1; ++a)
        for (mg_index_t b = b0; b < b1; ++b) {
            const mg_index_t row =
                ((id0 + a * c->d[0]) * H + ih0 + b * c->d[1]) * W + iw0;
            for (mg_index_t t = t0; t < t1; ++t)
                FN(keep_max_)(x[row + t * d2], row + t * d2, &best, &at);
        }
    *y = best;
    *idx = at;
}

// One plane of max pooling. Per output row, the windows lying wholly inside
// the input along the last dim ([wlo, whi)) are done together, tap by tap
// across the row (independent outputs: no dependency chain, no bounds
// checks); the windows at the edges go through max_window_.
static void FN(max_plane_)(const pool3 *c, const T *MG_RESTRICT x,
                           T *MG_RESTRICT y, int64_t *MG_RESTRICT idx) {
    const mg_index_t H = c->in[1], W = c->in[2], OW = c->out[2];
    const mg_index_t s2 = c->s[2], p2 = c->p[2], d2 = c->d[2];
    // Interior columns: ow * s2 - p2 >= 0 and ow * s2 - p2 + (k - 1) d2 < W.
    mg_index_t wlo = (p2 + s2 - 1) / s2;
    mg_index_t whi = W - 1 + p2 - (c->k[2] - 1) * d2 < 0
                         ? 0
                         : (W - 1 + p2 - (c->k[2] - 1) * d2) / s2 + 1;
    if (whi > OW)
        whi = OW;
    if (wlo > whi)
        wlo = whi;
    mg_index_t q = 0;
    for (mg_index_t od = 0; od < c->out[0]; ++od) {
        mg_index_t a0, a1;
        tap_range(c, 0, od, &a0, &a1);
        const mg_index_t id0 = od * c->s[0] - c->p[0];
        for (mg_index_t oh = 0; oh < c->out[1]; ++oh, q += OW) {
            mg_index_t b0, b1;
            tap_range(c, 1, oh, &b0, &b1);
            const mg_index_t ih0 = oh * c->s[1] - c->p[1];
            T *yr = y + q;
            int64_t *ir = idx + q;
            const int inner = a0 < a1 && b0 < b1 && wlo < whi;
            for (mg_index_t ow = 0; ow < OW; ++ow)
                if (!inner || ow < wlo || ow >= whi)
                    FN(max_window_)(c, x, id0, ih0, a0, a1, b0, b1, ow,
                                    yr + ow, ir + ow);
            if (!inner)
                continue;
            const mg_index_t r0 =
                ((id0 + a0 * c->d[0]) * H + ih0 + b0 * c->d[1]) * W - p2;
            for (mg_index_t ow = wlo; ow < whi; ++ow) {
                yr[ow] = x[r0 + ow * s2];
                ir[ow] = r0 + ow * s2;
            }
            for (mg_index_t a = a0; a < a1; ++a)
                for (mg_index_t b = b0; b < b1; ++b) {
                    const mg_index_t row =
                        ((id0 + a * c->d[0]) * H + ih0 + b * c->d[1]) * W - p2;
                    for (mg_index_t t = 0; t < c->k[2]; ++t) {
                        const mg_index_t r = row + t * d2;
                        for (mg_index_t ow = wlo; ow < whi; ++ow)
                            FN(keep_max_)(x[r + ow * s2], r + ow * s2,
                                          yr + ow, ir + ow);
                    }
                }
        }
    }
}

int FN(mg_max_pool_fwd_)(const mg_pool_geom *g, const T *x, T *y,
                         int64_t *idx, int num_threads) {
    pool3 c;
    if (canon(g, num_threads, 0, &c) != MG_POOL_OK)
        return MG_POOL_EARG;
    if (c.planes == 0 || c.out_sz == 0)
        return MG_POOL_OK;
    const mg_index_t ni = c.in_sz, no = c.out_sz;
    MG_FOR_PLANES(q, {
        FN(max_plane_)(&c, x + q * ni, y + q * no, idx + q * no);
    });
    return MG_POOL_OK;
}

// One plane of the max-pooling backward; 1 if an index was out of range.
static int FN(max_bwd_plane_)(mg_index_t no, mg_index_t ni,
                              const int64_t *MG_RESTRICT idx,
                              const T *MG_RESTRICT gy, T *MG_RESTRICT gx) {
    int bad = 0;
    for (mg_index_t o = 0; o < no; ++o) {
        const int64_t i = idx[o];
        if (i >= 0 && i < ni)
            gx[i] += gy[o];
        else if (i != -1)
            bad = 1;
    }
    return bad;
}

int FN(mg_max_pool_bwd_)(const mg_pool_geom *g, const T *gy,
                         const int64_t *idx, T *gx, int num_threads) {
    pool3 c;
    if (canon(g, num_threads, 0, &c) != MG_POOL_OK)
        return MG_POOL_EARG;
    const mg_index_t ni = c.in_sz, no = c.out_sz;
    if (c.planes * ni > 0)
        memset(gx, 0, (size_t)(c.planes * ni) * sizeof(T));
    if (c.planes == 0 || no == 0)
        return MG_POOL_OK;
    int bad = 0;
    const int nt = c.nt;
#pragma omp parallel for num_threads(nt) schedule(static) \
    reduction(| : bad) if (nt > 1)
    for (mg_index_t q = 0; q < c.planes; ++q)
        bad |= FN(max_bwd_plane_)(no, ni, idx + q * no, gy + q * no,
                                  gx + q * ni);
    return bad ? MG_POOL_EARG : MG_POOL_OK;
}

// The divisor of the window at (od, oh, ow) and its clipped bounds.
static inline T FN(avg_div_)(const pool3 *c, int include_pad,
                             mg_index_t override, const mg_index_t o[3],
                             mg_index_t lo[3], mg_index_t hi[3]) {
    mg_index_t padded = 1, clipped = 1;
    for (int d = 0; d < 3; ++d) {
        mg_index_t n;
        avg_window(c, d, o[d], &lo[d], &hi[d], &n);
        padded *= n;
        clipped *= hi[d] > lo[d] ? hi[d] - lo[d] : 0;
    }
    if (override > 0)
        return (T)override;
    return (T)(include_pad ? padded : clipped);
}

// One plane of average pooling (bwd: the adjoint, added into gx).
static void FN(avg_plane_)(const pool3 *c, int include_pad,
                           mg_index_t override, int bwd, const T *MG_RESTRICT a,
                           T *MG_RESTRICT b) {
    const mg_index_t H = c->in[1], W = c->in[2];
    mg_index_t o[3], lo[3], hi[3], q = 0;
    for (o[0] = 0; o[0] < c->out[0]; ++o[0])
        for (o[1] = 0; o[1] < c->out[1]; ++o[1])
            for (o[2] = 0; o[2] < c->out[2]; ++o[2], ++q) {
                const T div = FN(avg_div_)(c, include_pad, override, o, lo, hi);
                if (bwd) {
                    const T v = div != 0 ? a[q] / div : 0;
                    for (mg_index_t id = lo[0]; id < hi[0]; ++id)
                        for (mg_index_t ih = lo[1]; ih < hi[1]; ++ih) {
                            T *row = b + (id * H + ih) * W;
                            for (mg_index_t iw = lo[2]; iw < hi[2]; ++iw)
                                row[iw] += v;
                        }
                } else {
                    T sum = 0;
                    for (mg_index_t id = lo[0]; id < hi[0]; ++id)
                        for (mg_index_t ih = lo[1]; ih < hi[1]; ++ih) {
                            const T *row = a + (id * H + ih) * W;
                            for (mg_index_t iw = lo[2]; iw < hi[2]; ++iw)
                                sum += row[iw];
                        }
                    b[q] = div != 0 ? sum / div : 0;
                }
            }
}

int FN(mg_avg_pool_fwd_)(const mg_pool_geom *g, int count_include_pad,
                         mg_index_t divisor_override, const T *x, T *y,
                         int num_threads) {
    pool3 c;
    if (canon(g, num_threads, 1, &c) != MG_POOL_OK || divisor_override < 0)
        return MG_POOL_EARG;
    if (c.planes == 0 || c.out_sz == 0)
        return MG_POOL_OK;
    const mg_index_t ni = c.in_sz, no = c.out_sz;
    MG_FOR_PLANES(q, {
        FN(avg_plane_)(&c, count_include_pad, divisor_override, 0, x + q * ni,
                       y + q * no);
    });
    return MG_POOL_OK;
}

int FN(mg_avg_pool_bwd_)(const mg_pool_geom *g, int count_include_pad,
                         mg_index_t divisor_override, const T *gy, T *gx,
                         int num_threads) {
    pool3 c;
    if (canon(g, num_threads, 1, &c) != MG_POOL_OK || divisor_override < 0)
        return MG_POOL_EARG;
    const mg_index_t ni = c.in_sz, no = c.out_sz;
    if (c.planes * ni > 0)
        memset(gx, 0, (size_t)(c.planes * ni) * sizeof(T));
    if (c.planes == 0 || no == 0)
        return MG_POOL_OK;
    MG_FOR_PLANES(q, {
        FN(avg_plane_)(&c, count_include_pad, divisor_override, 1,
                       gy + q * no, gx + q * ni);
    });
    return MG_POOL_OK;
}

#undef FN
#undef MG_CAT
#undef MG_CAT2
