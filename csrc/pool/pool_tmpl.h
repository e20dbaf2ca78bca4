// Template for the pooling kernels, included by pool.c once per dtype with T
// and SFX (f32 / f64) defined. Contracts in mg_pool.h.

#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define FN(name) MG_CAT(name, SFX)

// One plane of max pooling.
static void FN(max_plane_)(const pool3 *c, const T *MG_RESTRICT x,
                           T *MG_RESTRICT y, int64_t *MG_RESTRICT idx) {
    const mg_index_t D = c->in[0], H = c->in[1], W = c->in[2];
    mg_index_t q = 0;
    for (mg_index_t od = 0; od < c->out[0]; ++od)
        for (mg_index_t oh = 0; oh < c->out[1]; ++oh)
            for (mg_index_t ow = 0; ow < c->out[2]; ++ow, ++q) {
                T best = -INFINITY;
                int64_t at = -1;
                for (mg_index_t a = 0; a < c->k[0]; ++a) {
                    const mg_index_t id = od * c->s[0] - c->p[0] + a * c->d[0];
                    if (id < 0 || id >= D)
                        continue;
                    for (mg_index_t b = 0; b < c->k[1]; ++b) {
                        const mg_index_t ih =
                            oh * c->s[1] - c->p[1] + b * c->d[1];
                        if (ih < 0 || ih >= H)
                            continue;
                        const mg_index_t row = (id * H + ih) * W;
                        for (mg_index_t t = 0; t < c->k[2]; ++t) {
                            const mg_index_t iw =
                                ow * c->s[2] - c->p[2] + t * c->d[2];
                            if (iw < 0 || iw >= W)
                                continue;
                            const T v = x[row + iw];
                            // NOTE: NaN wins and propagates (PyTorch).
                            if (at < 0 || v > best || isnan(v)) {
                                best = v;
                                at = row + iw;
                            }
                        }
                    }
                }
                y[q] = best;
                idx[q] = at;
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
