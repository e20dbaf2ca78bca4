// Template for the convolution kernels, included by conv.c once per dtype
// with T (element type), SFX (f32 / f64) and GEMM (mg_gemm_f32 / _f64)
// defined. Contracts in mg_conv.h; the geometry is conv3 (conv_internal.h).

#define MG_CAT2(a, b) a##b
#define MG_CAT(a, b) MG_CAT2(a, b)
#define FN(name) MG_CAT(name, SFX)

// The valid output columns [lo, hi) for kernel tap t along the last dim: the
// ones whose input column o * s - p + t * d lies in [0, w).
static inline void FN(col_range_)(const conv3 *G, mg_index_t t,
                                  mg_index_t *lo, mg_index_t *hi) {
    const mg_index_t s = G->s[2], off = t * G->d[2] - G->p[2];
    mg_index_t a = -mg_conv_fdiv(off, s); // ceil(-off / s)
    mg_index_t b = mg_conv_fdiv(G->in[2] - 1 - off, s) + 1;
    // Clamped to [0, out]: a tap that reaches no column gives lo == hi, and
    // callers may then index [lo, hi) and fill [0, lo) without leaving the
    // row.
    if (a < 0)
        a = 0;
    if (a > G->out[2])
        a = G->out[2];
    if (b > G->out[2])
        b = G->out[2];
    if (b < a)
        b = a;
    *lo = a, *hi = b;
}

// im2col_tile_ for one patch row (kernel tap kd, kh and a last-dim tap whose
// input column is ow + off, valid for every ow) over whole output rows
// [p0, p0 + np) at stride 1 along the last dim: one copy per output row.
// xc is the channel's (D, H, W) block.
static void FN(im2col_rows_)(const conv3 *G, const T *MG_RESTRICT xc,
                             mg_index_t kd, mg_index_t kh, mg_index_t off,
                             mg_index_t p0, mg_index_t np,
                             T *MG_RESTRICT dst) {
    const mg_index_t OH = G->out[1], OW = G->out[2];
    const mg_index_t D = G->in[0], H = G->in[1], W = G->in[2];
    mg_index_t od = p0 / (OH * OW), oh = p0 / OW % OH;
    for (mg_index_t q = 0; q < np; q += OW) {
        const mg_index_t id = od * G->s[0] - G->p[0] + kd * G->d[0];
        const mg_index_t ih = oh * G->s[1] - G->p[1] + kh * G->d[1];
        T *out = dst + q;
        if (id < 0 || id >= D || ih < 0 || ih >= H) {
            for (mg_index_t j = 0; j < OW; ++j)
                out[j] = 0;
        } else {
            const T *src = xc + (id * H + ih) * W + off;
            for (mg_index_t j = 0; j < OW; ++j)
                out[j] = src[j];
        }
        if (++oh == OH)
            oh = 0, ++od;
    }
}

// Patches of output positions [p0, p0 + np) (flattened over the 3 dims) of
// one image's `channels` channels x (channels x in_sz) into cols
// (channels * k_sz rows of np columns, rows ld >= np apart). Along the last
// dim the valid span of each row segment is copied in one loop (a plain copy
// at stride 1) and the rest zero-filled.
// Assumes: the geometry was validated; cols does not overlap x.
static void FN(im2col_tile_)(const conv3 *G, mg_index_t channels,
                             const T *MG_RESTRICT x, mg_index_t p0,
                             mg_index_t np, mg_index_t ld,
                             T *MG_RESTRICT cols) {
    const mg_index_t OH = G->out[1], OW = G->out[2];
    const mg_index_t D = G->in[0], H = G->in[1], W = G->in[2], s2 = G->s[2];
    const int whole = s2 == 1 && p0 % OW == 0 && np % OW == 0;
    T *dst = cols;
    for (mg_index_t c = 0; c < channels; ++c)
        for (mg_index_t kd = 0; kd < G->k[0]; ++kd)
            for (mg_index_t kh = 0; kh < G->k[1]; ++kh)
                for (mg_index_t kw = 0; kw < G->k[2]; ++kw, dst += ld) {
                    mg_index_t lo, hi;
                    FN(col_range_)(G, kw, &lo, &hi);
                    const mg_index_t off = kw * G->d[2] - G->p[2];
                    if (whole && lo == 0 && hi == OW) {
                        // Whole output rows, every column valid: one
                        // contiguous copy per row (the common case, worth
                        // its own loop: LeNet's rows are 10 wide).
                        FN(im2col_rows_)(G, x + c * D * H * W, kd, kh, off,
                                         p0, np, dst);
                        continue;
                    }
                    mg_index_t od = p0 / (OH * OW), oh = p0 / OW % OH,
                               ow = p0 % OW;
                    for (mg_index_t q = 0; q < np;) {
                        mg_index_t seg = OW - ow;
                        if (seg > np - q)
                            seg = np - q;
                        const mg_index_t id = od * G->s[0] - G->p[0] +
                                              kd * G->d[0];
                        const mg_index_t ih = oh * G->s[1] - G->p[1] +
                                              kh * G->d[1];
                        T *out = dst + q - ow; // out[j]: output column j
                        const mg_index_t e = ow + seg;
                        if (id < 0 || id >= D || ih < 0 || ih >= H) {
                            for (mg_index_t j = ow; j < e; ++j)
                                out[j] = 0;
                        } else {
                            const T *row = x + ((c * D + id) * H + ih) * W;
                            // The valid span within [ow, e), possibly
                            // empty (a == b).
                            const mg_index_t a =
                                lo < ow ? ow : lo > e ? e : lo;
                            const mg_index_t b = hi > e ? e : hi < a ? a : hi;
                            mg_index_t j = ow;
                            for (; j < a; ++j)
                                out[j] = 0;
                            if (s2 == 1) {
                                const T *src = row + off;
                                for (; j < b; ++j)
                                    out[j] = src[j];
                            } else {
                                for (; j < b; ++j)
                                    out[j] = row[j * s2 + off];
                            }
                            for (j = j > ow ? j : ow; j < e; ++j)
                                out[j] = 0;
                        }
                        q += seg;
                        ow = 0;
                        if (++oh == OH)
                            oh = 0, ++od;
                    }
                }
}

// The adjoint of im2col_rows_: adds one patch row back into the channel's
// block xc, one contiguous row at a time.
static void FN(col2im_rows_)(const conv3 *G, const T *MG_RESTRICT src,
                             mg_index_t kd, mg_index_t kh, mg_index_t off,
                             mg_index_t p0, mg_index_t np,
                             T *MG_RESTRICT xc) {
    const mg_index_t OH = G->out[1], OW = G->out[2];
    const mg_index_t D = G->in[0], H = G->in[1], W = G->in[2];
    mg_index_t od = p0 / (OH * OW), oh = p0 / OW % OH;
    for (mg_index_t q = 0; q < np; q += OW) {
        const mg_index_t id = od * G->s[0] - G->p[0] + kd * G->d[0];
        const mg_index_t ih = oh * G->s[1] - G->p[1] + kh * G->d[1];
        if (id >= 0 && id < D && ih >= 0 && ih < H) {
            T *row = xc + (id * H + ih) * W + off;
            const T *in = src + q;
            for (mg_index_t j = 0; j < OW; ++j)
                row[j] += in[j];
        }
        if (++oh == OH)
            oh = 0, ++od;
    }
}

// The adjoint of im2col_tile_: adds each patch entry back into x at the
// position it was read from (padding entries are dropped).
// Assumes: as im2col_tile_; x is not read by another thread meanwhile.
static void FN(col2im_tile_)(const conv3 *G, mg_index_t channels,
                             const T *MG_RESTRICT cols, mg_index_t p0,
                             mg_index_t np, mg_index_t ld,
                             T *MG_RESTRICT x) {
    const mg_index_t OH = G->out[1], OW = G->out[2];
    const mg_index_t D = G->in[0], H = G->in[1], W = G->in[2], s2 = G->s[2];
    const int whole = s2 == 1 && p0 % OW == 0 && np % OW == 0;
    const T *src = cols;
    for (mg_index_t c = 0; c < channels; ++c)
        for (mg_index_t kd = 0; kd < G->k[0]; ++kd)
            for (mg_index_t kh = 0; kh < G->k[1]; ++kh)
                for (mg_index_t kw = 0; kw < G->k[2]; ++kw, src += ld) {
                    mg_index_t lo, hi;
                    FN(col_range_)(G, kw, &lo, &hi);
                    const mg_index_t off = kw * G->d[2] - G->p[2];
                    if (whole && lo == 0 && hi == OW) {
                        FN(col2im_rows_)(G, src, kd, kh, off, p0, np,
                                         x + c * D * H * W);
                        continue;
                    }
                    mg_index_t od = p0 / (OH * OW), oh = p0 / OW % OH,
                               ow = p0 % OW;
                    for (mg_index_t q = 0; q < np;) {
                        mg_index_t seg = OW - ow;
                        if (seg > np - q)
                            seg = np - q;
                        const mg_index_t id = od * G->s[0] - G->p[0] +
                                              kd * G->d[0];
                        const mg_index_t ih = oh * G->s[1] - G->p[1] +
                                              kh * G->d[1];
                        if (id >= 0 && id < D && ih >= 0 && ih < H) {
                            const T *in = src + q - ow;
                            T *row = x + ((c * D + id) * H + ih) * W;
                            const mg_index_t e = ow + seg;
                            // The valid span within [ow, e), possibly
                            // empty (a == b).
                            const mg_index_t a =
                                lo < ow ? ow : lo > e ? e : lo;
                            const mg_index_t b = hi > e ? e : hi < a ? a : hi;
                            if (s2 == 1) {
                                T *dst = row + off;
                                for (mg_index_t j = a; j < b; ++j)
                                    dst[j] += in[j];
                            } else {
                                for (mg_index_t j = a; j < b; ++j)
                                    row[j * s2 + off] += in[j];
                            }
                        }
                        q += seg;
                        ow = 0;
                        if (++oh == OH)
                            oh = 0, ++od;
                    }
                }
}

// Output positions per tile: the patches of one tile fill at most
// MG_CONV_WS_BYTES (but at least MG_CONV_MIN_TILE positions).
static mg_index_t FN(tile_)(const conv3 *G) {
    mg_index_t pt = G->kc > 0 ? (mg_index_t)(MG_CONV_WS_BYTES / sizeof(T)) /
                                    G->kc
                              : G->out_sz;
    if (pt < MG_CONV_MIN_TILE)
        pt = MG_CONV_MIN_TILE;
    if (pt > G->out_sz)
        pt = G->out_sz;
    return pt < 1 ? 1 : pt;
}

// One (image, group) item of `kind`:
//   FWD     a = x, b = w, c = y, bias
//   BWD_IN  a = gy, b = w, c = gx
//   BWD_W   a = x, b = gy, c = the gw accumulator (added to)
// ws holds one tile of patches (unused on the fast path).
static int FN(item_)(int kind, const conv3 *G, mg_index_t n, mg_index_t g,
                     const T *a, const T *b, const T *bias, T *c, T *ws,
                     mg_index_t pt, const mg_gemm_opts *o) {
    const mg_index_t P = G->out_sz, kc = G->kc, cgo = G->cgo;
    const mg_index_t xoff = (n * G->cin + g * G->cgi) * G->in_sz;
    const mg_index_t yoff = (n * G->cout + g * cgo) * P;
    if (kind == BWD_IN && !G->fast && G->cgi * G->in_sz > 0)
        memset(c + xoff, 0, (size_t)(G->cgi * G->in_sz) * sizeof(T));
    for (mg_index_t p0 = 0; p0 < P; p0 += pt) {
        const mg_index_t np = P - p0 < pt ? P - p0 : pt;
        int st;
        if (kind == BWD_IN) {
            // patches (kc x np) = W_g^T (kc x cgo) @ gy_g[:, tile]; the fast
            // path writes them straight into gx.
            const T *wg = b + g * cgo * kc;
            T *dst = G->fast ? c + xoff + p0 : ws;
            const mg_index_t rs = G->fast ? P : np;
            st = GEMM(kc, np, cgo, 1, wg, 1, kc, a + yoff + p0, P, 1, 0, dst,
                      rs, 1, 0, 0, MG_ACT_NONE, o);
            if (st)
                return st;
            if (!G->fast)
                FN(col2im_tile_)(G, G->cgi, ws, p0, np, np, c + xoff);
            continue;
        }
        const T *cols = a + xoff + p0;
        mg_index_t ld = P;
        if (!G->fast) {
            FN(im2col_tile_)(G, G->cgi, a + xoff, p0, np, np, ws);
            cols = ws, ld = np;
        }
        if (kind == FWD) {
            // y_g[:, tile]^T (np x cgo) = patches^T @ W_g^T, so the bias is
            // a per-column bias of the GEMM.
            st = GEMM(np, cgo, kc, 1, cols, 1, ld, b + g * cgo * kc, 1, kc, 0,
                      c + yoff + p0, 1, P, bias ? bias + g * cgo : 0, 1,
                      MG_ACT_NONE, o);
        } else {
            // gw_g (cgo x kc) += gy_g[:, tile] (cgo x np) @ patches^T.
            st = GEMM(cgo, kc, np, 1, b + yoff + p0, P, 1, cols, 1, ld, 1,
                      c + g * cgo * kc, kc, 1, 0, 0, MG_ACT_NONE, o);
        }
        if (st)
            return st;
    }
    return MG_CONV_OK;
}

// One item of `kind` over nbi whole images n0 .. n0 + nbi - 1 and group g,
// for images small enough that the patches of several fit the workspace:
// they are laid side by side (L = nbi * P columns) so each product is one
// wide GEMM instead of nbi thin ones, through a staging block (cgo x L)
// that gathers gy or scatters y. Operands as item_. ws holds kc * L patch
// entries and then the cgo * L staging block.
static int FN(batch_item_)(int kind, const conv3 *G, mg_index_t n0,
                           mg_index_t nbi, mg_index_t g, const T *a,
                           const T *b, const T *bias, T *c, T *ws,
                           const mg_gemm_opts *o) {
    const mg_index_t P = G->out_sz, kc = G->kc, cgo = G->cgo, L = nbi * P;
    const mg_index_t ximg = G->cin * G->in_sz, yimg = G->cout * P;
    const mg_index_t xg = g * G->cgi * G->in_sz, yg = g * cgo * P;
    const size_t row = (size_t)P * sizeof(T);
    T *cols = ws, *stage = ws + kc * L;
    int st;
    if (kind == FWD) {
        for (mg_index_t i = 0; i < nbi; ++i)
            FN(im2col_tile_)(G, G->cgi, a + (n0 + i) * ximg + xg, 0, P, L,
                             cols + i * P);
        // stage^T (L x cgo) = patches^T @ W_g^T, the bias per column.
        st = GEMM(L, cgo, kc, 1, cols, 1, L, b + g * cgo * kc, 1, kc, 0,
                  stage, 1, L, bias ? bias + g * cgo : 0, 1, MG_ACT_NONE, o);
        if (st)
            return st;
        for (mg_index_t i = 0; i < nbi; ++i)
            for (mg_index_t q = 0; q < cgo; ++q)
                memcpy(c + (n0 + i) * yimg + yg + q * P, stage + q * L + i * P,
                       row);
        return MG_CONV_OK;
    }
    const T *gy = kind == BWD_IN ? a : b;
    for (mg_index_t i = 0; i < nbi; ++i)
        for (mg_index_t q = 0; q < cgo; ++q)
            memcpy(stage + q * L + i * P, gy + (n0 + i) * yimg + yg + q * P,
                   row);
    if (kind == BWD_IN) {
        // patches (kc x L) = W_g^T @ stage, then each image's summed back.
        st = GEMM(kc, L, cgo, 1, b + g * cgo * kc, 1, kc, stage, L, 1, 0,
                  cols, L, 1, 0, 0, MG_ACT_NONE, o);
        if (st)
            return st;
        for (mg_index_t i = 0; i < nbi; ++i) {
            T *gx = c + (n0 + i) * ximg + xg;
            if (G->cgi * G->in_sz > 0)
                memset(gx, 0, (size_t)(G->cgi * G->in_sz) * sizeof(T));
            FN(col2im_tile_)(G, G->cgi, cols + i * P, 0, P, L, gx);
        }
        return MG_CONV_OK;
    }
    for (mg_index_t i = 0; i < nbi; ++i)
        FN(im2col_tile_)(G, G->cgi, a + (n0 + i) * ximg + xg, 0, P, L,
                         cols + i * P);
    // gw_g (cgo x kc) += stage (cgo x L) @ patches^T.
    return GEMM(cgo, kc, L, 1, stage, L, 1, cols, 1, L, 1, c + g * cgo * kc,
                kc, 1, 0, 0, MG_ACT_NONE, o);
}

// Item `it` of a run with nb images per item: images (it / groups) * nb ..
// and group it % groups.
static int FN(dispatch_)(int kind, const conv3 *G, mg_index_t nb,
                         mg_index_t it, const T *a, const T *b, const T *bias,
                         T *c, T *ws, mg_index_t pt, const mg_gemm_opts *o) {
    const mg_index_t g = it % G->groups, n0 = it / G->groups * nb;
    if (nb == 1)
        return FN(item_)(kind, G, n0, g, a, b, bias, c, ws, pt, o);
    const mg_index_t nbi = G->n - n0 < nb ? G->n - n0 : nb;
    return FN(batch_item_)(kind, G, n0, nbi, g, a, b, bias, c, ws, o);
}

// Images per item: small images (below MG_CONV_BATCH_MAX_POSITIONS output
// positions) are batched, as many as fit the workspace but no more than
// leave MG_CONV_PARTS items (not one per thread: a GEMM's bits depend on
// its width, and results must not depend on the thread count, Note [Weight
// gradient parts]); others are one image per item, tiled.
static mg_index_t FN(images_per_item_)(const conv3 *G) {
    if (G->fast || G->out_sz > MG_CONV_BATCH_MAX_POSITIONS)
        return 1;
    // In double: with batch 0, cgo * out_sz was never bounded.
    const double per = ((double)G->kc + (double)G->cgo) * (double)G->out_sz;
    const double fit = (double)(MG_CONV_WS_BYTES / sizeof(T)) / per;
    const mg_index_t cap = fit >= (double)G->n ? G->n : (mg_index_t)fit;
    const mg_index_t share = (G->n + MG_CONV_PARTS - 1) / MG_CONV_PARTS;
    mg_index_t nb = cap < share ? cap : share;
    return nb < 1 ? 1 : nb;
}

// buf = n elements, 64-byte aligned (n a multiple of 64 bytes), or null
// when n is 0.
static int FN(alloc_)(double n, T **buf) {
    *buf = 0;
    if (n <= 0)
        return MG_CONV_OK;
    if (n * sizeof(T) > (double)PTRDIFF_MAX / 2)
        return MG_CONV_ENOMEM;
    *buf = aligned_alloc(64, (size_t)n * sizeof(T));
    return *buf ? MG_CONV_OK : MG_CONV_ENOMEM;
}

// The calling thread's `len` elements of buf (one share per thread).
static T *FN(mine_)(T *buf, mg_index_t len) {
#ifdef _OPENMP
    return buf ? buf + len * omp_get_thread_num() : 0;
#else
    (void)len;
    return buf;
#endif
}

// The workspace one thread needs for an item of nb images (whole images'
// patches when batched, else one tile's), rounded to whole cache lines.
static mg_index_t FN(ws_len_)(const conv3 *G, mg_index_t nb, mg_index_t pt) {
    const mg_index_t align = 64 / (mg_index_t)sizeof(T);
    const mg_index_t raw = nb > 1    ? (G->kc + G->cgo) * nb * G->out_sz
                           : G->fast ? 0
                                     : G->kc * pt;
    return (raw + align - 1) / align * align;
}

// Note [Weight gradient parts]
// The weight gradient sums every item's contribution, so its last bits
// depend on how the items are grouped into partial sums. That grouping must
// not depend on the thread count: kernels are asked for fewer threads when
// other processes hold cores (Note [Sharing cores] in minigrad/backend.py),
// and a training run should not change with the machine's load. So the
// items (nb images each, nb chosen as for MG_CONV_PARTS threads) are
// cut into MG_CONV_PARTS runs of consecutive items, whatever the
// thread count; each run is summed in item order into its own buffer (the
// first into gw itself), the threads take whole runs, and the runs are then
// added in order. Forward and input-gradient items write disjoint outputs
// and need none of this. Result: the same bits on 1, 2 or 64 threads.
static int FN(run_wgrad_)(const conv3 *G, mg_index_t nb, mg_index_t items,
                          const T *x, const T *gy, T *gw, int risa, int nt) {
    const int parts = items < MG_CONV_PARTS ? (int)items
                                                  : MG_CONV_PARTS;
    const int teams = nt < parts ? nt : parts;
    const mg_gemm_opts o = {risa, teams > 1 ? 1 : nt, MG_GEMM_AUTO, 0, 0, 0};
    const mg_index_t pt = FN(tile_)(G);
    const mg_index_t w_len = G->cout * G->kc;
    const mg_index_t align = 64 / (mg_index_t)sizeof(T);
    const mg_index_t acc_len = (w_len + align - 1) / align * align;
    const mg_index_t ws_len = FN(ws_len_)(G, nb, pt);
    const double total =
        (double)ws_len * teams + (double)acc_len * (parts - 1);
    T *buf;
    if (FN(alloc_)(total, &buf) != MG_CONV_OK)
        return MG_CONV_ENOMEM;
    T *accs = buf ? buf + ws_len * teams : 0; // runs 1 .. parts - 1
    int status = MG_CONV_OK;
#pragma omp parallel num_threads(teams) if (teams > 1)
    {
        T *mine = FN(mine_)(buf, ws_len);
        int st = MG_CONV_OK;
#pragma omp for schedule(static)
        for (int r = 0; r < parts; ++r) {
            T *acc = r == 0 ? gw : accs + acc_len * (r - 1);
            if (r > 0)
                memset(acc, 0, (size_t)w_len * sizeof(T));
            const mg_index_t it1 = items * (r + 1) / parts;
            for (mg_index_t it = items * r / parts; it < it1; ++it)
                if (st == MG_CONV_OK)
                    st = FN(dispatch_)(BWD_W, G, nb, it, x, gy, 0, acc, mine,
                                       pt, &o);
        }
#pragma omp for schedule(static)
        for (mg_index_t i = 0; i < w_len; ++i) {
            T s = gw[i];
            for (int r = 1; r < parts; ++r)
                s += accs[acc_len * (r - 1) + i];
            gw[i] = s;
        }
        if (st != MG_CONV_OK) {
#pragma omp critical(mg_conv_status)
            status = st;
        }
    }
    free(buf);
    return status;
}

// Runs every (images, group) item of `kind`, on one thread per item when
// there are enough items, else in turn with threaded GEMMs (see mg_conv.h);
// the weight gradient as Note [Weight gradient parts] says.
static int FN(run_)(int kind, const mg_conv_geom *geom, const T *a,
                    const T *b, const T *bias, T *c, int isa,
                    int num_threads) {
    conv3 G;
    if (mg_conv_canon(geom, 0, &G) != MG_CONV_OK || num_threads < 1 ||
        isa < MG_ISA_AUTO || isa >= MG_ISA_COUNT)
        return MG_CONV_EARG;
    const int risa = mg_cpu_resolve_isa(isa);
    if (risa < 0)
        return MG_CONV_EISA;
    const mg_index_t w_len = G.cout * G.kc;
    if (kind == BWD_W && w_len > 0)
        memset(c, 0, (size_t)w_len * sizeof(T));
    const mg_index_t nb = FN(images_per_item_)(&G);
    const mg_index_t blocks = (G.n + nb - 1) / nb;
    const mg_index_t items = blocks * G.groups;
    if (items == 0 || G.out_sz == 0 || G.cout == 0 || G.kc == 0) {
        // Nothing to multiply; only the input gradient still needs writing.
        if (kind == BWD_IN && G.n * G.cin * G.in_sz > 0)
            memset(c, 0, (size_t)(G.n * G.cin * G.in_sz) * sizeof(T));
        if (kind == FWD && G.n * G.cout * G.out_sz > 0) {
            // k == 0: y = bias (the GEMM with an empty inner size).
            for (mg_index_t n = 0; n < G.n; ++n)
                for (mg_index_t o = 0; o < G.cout; ++o)
                    for (mg_index_t p = 0; p < G.out_sz; ++p)
                        c[(n * G.cout + o) * G.out_sz + p] =
                            bias ? bias[o] : 0;
        }
        return MG_CONV_OK;
    }
    const double fma = (double)G.n * (double)G.cout * (double)G.out_sz *
                       (double)G.kc;
    const int nt = mg_conv_threads(num_threads, items, fma,
                                   MG_GEMM_MIN_FMA_PER_THREAD / 2);
    if (kind == BWD_W)
        return FN(run_wgrad_)(&G, nb, items, a, b, c, risa, nt);
    const int par = nt > 1 && items >= nt;
    mg_gemm_opts o = {risa, par ? 1 : nt, MG_GEMM_AUTO, 0, 0, 0};
    const mg_index_t pt = FN(tile_)(&G);
    const mg_index_t ws_len = FN(ws_len_)(&G, nb, pt);
    const int teams = par ? nt : 1;
    T *buf;
    if (FN(alloc_)((double)ws_len * teams, &buf) != MG_CONV_OK)
        return MG_CONV_ENOMEM;
    int status = MG_CONV_OK;
    if (!par) {
        for (mg_index_t it = 0; it < items && status == MG_CONV_OK; ++it)
            status = FN(dispatch_)(kind, &G, nb, it, a, b, bias, c, buf, pt,
                                   &o);
    } else {
#pragma omp parallel num_threads(nt)
        {
            T *mine = FN(mine_)(buf, ws_len);
            int st = MG_CONV_OK;
#pragma omp for schedule(dynamic, 1)
            for (mg_index_t it = 0; it < items; ++it)
                if (st == MG_CONV_OK)
                    st = FN(dispatch_)(kind, &G, nb, it, a, b, bias, c, mine,
                                       pt, &o);
            if (st != MG_CONV_OK) {
#pragma omp critical(mg_conv_status)
                status = st;
            }
        }
    }
    free(buf);
    return status;
}

int FN(mg_conv_fwd_path_)(const mg_conv_geom *g, const T *x, const T *w,
                          const T *bias, T *y, int isa, int num_threads,
                          int path) {
    conv3 G;
    if (mg_conv_canon(g, 0, &G) != MG_CONV_OK || num_threads < 1 ||
        isa < MG_ISA_AUTO || isa >= MG_ISA_COUNT ||
        path < MG_CONV_PATH_AUTO || path > MG_CONV_PATH_FUSED)
        return MG_CONV_EARG;
    const int risa = mg_cpu_resolve_isa(isa);
    if (risa < 0)
        return MG_CONV_EISA;
    const int nt = num_threads > MG_CONV_MAX_THREADS ? MG_CONV_MAX_THREADS
                                                     : num_threads;
    const int sized = G.n > 0 && G.cout > 0 && G.out_sz > 0 && G.kc > 0;
    if (sized && (path == MG_CONV_PATH_FUSED ||
                  (path == MG_CONV_PATH_AUTO && !G.fast &&
                   mg_conv_fused_wins(&G, (int)sizeof(T), nt))))
        return FN(mg_conv_fwd_fused_)(&G, x, w, bias, y, risa, nt);
    return FN(run_)(FWD, g, x, w, bias, y, isa, num_threads);
}

int FN(mg_conv_fwd_)(const mg_conv_geom *g, const T *x, const T *w,
                     const T *bias, T *y, int isa, int num_threads) {
    return FN(mg_conv_fwd_path_)(g, x, w, bias, y, isa, num_threads,
                                 MG_CONV_PATH_AUTO);
}

int FN(mg_conv_bwd_input_)(const mg_conv_geom *g, const T *gy, const T *w,
                           T *gx, int isa, int num_threads) {
    return FN(run_)(BWD_IN, g, gy, w, 0, gx, isa, num_threads);
}

int FN(mg_conv_bwd_weight_)(const mg_conv_geom *g, const T *x, const T *gy,
                            T *gw, int isa, int num_threads) {
    return FN(run_)(BWD_W, g, x, gy, 0, gw, isa, num_threads);
}

// im2col / col2im of the whole batch: one image per item.
static int FN(cols_)(int fold, const mg_conv_geom *g, const T *src, T *dst,
                     int num_threads) {
    conv3 G;
    if (mg_conv_canon(g, 1, &G) != MG_CONV_OK || num_threads < 1)
        return MG_CONV_EARG;
    const mg_index_t img_x = G.cin * G.in_sz, img_c = G.cin * G.k_sz * G.out_sz;
    if (fold && G.n * img_x > 0)
        memset(dst, 0, (size_t)(G.n * img_x) * sizeof(T));
    if (G.n == 0 || img_c == 0)
        return MG_CONV_OK;
    const int nt = mg_conv_threads(num_threads, G.n,
                                   (double)G.n * (double)img_c, 65536.0);
    if (nt == 1) {
        for (mg_index_t n = 0; n < G.n; ++n) {
            if (fold)
                FN(col2im_tile_)(&G, G.cin, src + n * img_c, 0, G.out_sz,
                                 G.out_sz, dst + n * img_x);
            else
                FN(im2col_tile_)(&G, G.cin, src + n * img_x, 0, G.out_sz,
                                 G.out_sz, dst + n * img_c);
        }
    } else {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (mg_index_t n = 0; n < G.n; ++n) {
            if (fold)
                FN(col2im_tile_)(&G, G.cin, src + n * img_c, 0, G.out_sz,
                                 G.out_sz, dst + n * img_x);
            else
                FN(im2col_tile_)(&G, G.cin, src + n * img_x, 0, G.out_sz,
                                 G.out_sz, dst + n * img_c);
        }
    }
    return MG_CONV_OK;
}

int FN(mg_im2col_)(const mg_conv_geom *g, const T *x, T *cols,
                   int num_threads) {
    return FN(cols_)(0, g, x, cols, num_threads);
}

int FN(mg_col2im_)(const mg_conv_geom *g, const T *cols, T *x,
                   int num_threads) {
    return FN(cols_)(1, g, cols, x, num_threads);
}

#undef FN
#undef MG_CAT
#undef MG_CAT2
