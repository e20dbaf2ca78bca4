// The per-row softmax kernels for one element type and one instruction set
// (internal to csrc/softmax): softmax_impl.h includes this file once per
// ISA with T, SUF, EXP, LOG, LOG1P (see there), ISA (the name suffix:
// generic, avx2, avx512) and MG_ATTR (that ISA's target attribute) defined,
// and FN(xent_par) and FN(sm_kern) declared. It ends with the table of
// its functions, kern_<SUF>_<ISA>.

#define FK(name) MG_CAT(MG_CAT(name, SUF), ISA)

// Rows [0, nr) of length d, all short (Note [Short rows] in
// softmax_impl.h); buf holds nr·d.
MG_ATTR static void FK(rows_fwd_short)(mg_index_t nr, mg_index_t d, const T *x,
                                       T *y, int lg, T *buf) {
    for (mg_index_t r = 0; r < nr; r++) {
        const T *xr = x + r * d;
        T mr = -(T)INFINITY;
        for (mg_index_t j = 0; j < d; j++)
            mr = xr[j] > mr ? xr[j] : mr;
        for (mg_index_t j = 0; j < d; j++)
            buf[r * d + j] = xr[j] - mr;
    }
    // x is consumed: y may alias it from here on.
    mg_index_t k = nr * d;
#pragma omp simd
    for (mg_index_t q = 0; q < k; q++)
        y[q] = EXP(buf[q]);
    for (mg_index_t r = 0; r < nr; r++) {
        T *yr = y + r * d;
        const T *zr = buf + r * d;
        T s = 0;
        for (mg_index_t j = 0; j < d; j++)
            s += yr[j];
        if (lg) {
            T off = LOG(s);
            for (mg_index_t j = 0; j < d; j++)
                yr[j] = zr[j] - off;
        } else {
            T inv = (T)1 / s;
            for (mg_index_t j = 0; j < d; j++)
                yr[j] *= inv;
        }
    }
}

// One long row. NaN never wins a `>`, but exp(NaN - m) is NaN, so a row
// holding NaN (or +inf: inf - inf) still becomes NaN through the sum.
MG_ATTR static void FK(row_fwd)(mg_index_t d, const T *x, T *y, int lg) {
    T m = -(T)INFINITY;
#pragma omp simd reduction(max : m)
    for (mg_index_t j = 0; j < d; j++)
        m = x[j] > m ? x[j] : m;
    T s = 0;
    if (lg) {
#pragma omp simd reduction(+ : s)
        for (mg_index_t j = 0; j < d; j++)
            s += EXP(x[j] - m);
        // (x - m) - log s, not x - (m + log s): with |m| large, m + log s
        // rounds log s away (log_softmax of [1e8, 1e8] would be [0, 0]).
        T ls = LOG(s);
#pragma omp simd
        for (mg_index_t j = 0; j < d; j++)
            y[j] = (x[j] - m) - ls;
    } else {
#pragma omp simd reduction(+ : s)
        for (mg_index_t j = 0; j < d; j++) {
            T e = EXP(x[j] - m);
            y[j] = e;
            s += e;
        }
        T r = (T)1 / s;
#pragma omp simd
        for (mg_index_t j = 0; j < d; j++)
            y[j] *= r;
    }
}

// A block of b <= MG_BLK inner positions of one outer index; element (j, k)
// is at x[j * inner + k]. Vectorised along k.
MG_ATTR static void FK(blk_fwd)(mg_index_t d, mg_index_t inner, mg_index_t b,
                                const T *x, T *y, int lg) {
    T m[MG_BLK], s[MG_BLK];
    for (mg_index_t k = 0; k < b; k++) {
        m[k] = -(T)INFINITY;
        s[k] = 0;
    }
    for (mg_index_t j = 0; j < d; j++) {
        const T *xr = x + j * inner;
#pragma omp simd
        for (mg_index_t k = 0; k < b; k++) {
            T v = xr[k];
            m[k] = (v > m[k] || v != v) ? v : m[k];
        }
    }
    for (mg_index_t j = 0; j < d; j++) {
        const T *xr = x + j * inner;
        T *yr = y + j * inner;
        if (lg) { // split by hand: no conditional store in the loop
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                s[k] += EXP(xr[k] - m[k]);
        } else {
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++) {
                T e = EXP(xr[k] - m[k]);
                yr[k] = e;
                s[k] += e;
            }
        }
    }
    for (mg_index_t k = 0; k < b; k++)
        s[k] = lg ? LOG(s[k]) : (T)1 / s[k]; // (x - m) - log s, as row_fwd
    for (mg_index_t j = 0; j < d; j++) {
        const T *xr = x + j * inner;
        T *yr = y + j * inner;
        if (lg) {
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                yr[k] = (xr[k] - m[k]) - s[k];
        } else {
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                yr[k] *= s[k];
        }
    }
}

// Backward of one row: one dot product, then one elementwise pass.
MG_ATTR static void FK(row_bwd)(mg_index_t d, const T *y, const T *gy, T *gx,
                                int lg) {
    T s = 0;
    if (lg) {
        int big = 0; // y > EXP_SAT: not from a forward, see EXP_ANY
#pragma omp simd reduction(+ : s) reduction(| : big)
        for (mg_index_t j = 0; j < d; j++) {
            s += gy[j];
            big |= y[j] > EXP_SAT;
        }
        if (big) {
#pragma omp simd
            for (mg_index_t j = 0; j < d; j++)
                gx[j] = gy[j] - EXP_ANY(y[j]) * s;
            return;
        }
#pragma omp simd
        for (mg_index_t j = 0; j < d; j++)
            gx[j] = gy[j] - EXP(y[j]) * s;
    } else {
#pragma omp simd reduction(+ : s)
        for (mg_index_t j = 0; j < d; j++)
            s += gy[j] * y[j];
#pragma omp simd
        for (mg_index_t j = 0; j < d; j++)
            gx[j] = y[j] * (gy[j] - s);
    }
}

// A block of b <= MG_BWD_BLK inner positions of one outer index: element
// (j, k) of y and gx is at [j * inner + k], of gy at gy[j * gs + k] (gs = 0:
// one row of gy for every j, a broadcast gradient).
MG_ATTR static void FK(blk_bwd)(mg_index_t d, mg_index_t inner, mg_index_t b,
                                const T *y, const T *gy, mg_index_t gs, T *gx,
                                int lg) {
    T s[MG_BWD_BLK];
    int big = 0; // some y > EXP_SAT (log_softmax): see row_bwd
    for (mg_index_t k = 0; k < b; k++)
        s[k] = 0;
    // The loops are split by `lg` by hand: with both arms of a select
    // evaluated (see softmax.c), softmax's loop would also pay log_softmax's
    // exp per element, ~6x the time of the row kernel (bench_softmax.py's
    // transposed rows).
    if (!lg) {
        for (mg_index_t j = 0; j < d; j++) {
            const T *yr = y + j * inner, *gr = gy + j * gs;
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                s[k] += gr[k] * yr[k];
        }
        for (mg_index_t j = 0; j < d; j++) {
            const T *yr = y + j * inner, *gr = gy + j * gs;
            T *xr = gx + j * inner;
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                xr[k] = yr[k] * (gr[k] - s[k]);
        }
        return;
    }
    for (mg_index_t j = 0; j < d; j++) {
        const T *yr = y + j * inner, *gr = gy + j * gs;
#pragma omp simd reduction(| : big)
        for (mg_index_t k = 0; k < b; k++) {
            s[k] += gr[k];
            big |= yr[k] > EXP_SAT;
        }
    }
    for (mg_index_t j = 0; j < d; j++) {
        const T *yr = y + j * inner, *gr = gy + j * gs;
        T *xr = gx + j * inner;
        if (big) {
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                xr[k] = gr[k] - EXP_ANY(yr[k]) * s[k];
        } else {
#pragma omp simd
            for (mg_index_t k = 0; k < b; k++)
                xr[k] = gr[k] - EXP(yr[k]) * s[k];
        }
    }
}

// buf[r·d + j] = src[r·sr + j·sc] for r < nr, j < d: nr rows of a strided
// operand, gathered for row_bwd (Note [Transposed gradient] in
// softmax_impl.h) or row_fwd (Note [Strided rows]). With rows adjacent in
// memory (sr = 1) and a whole tile of them, W columns at a time go through
// registers (transpose.h); the rest, and other layouts, element by element,
// down the rows (the contiguous way when sr = 1), or along each row when its
// elements are the closer ones (a stride of 2, the commonest slice, with a
// constant stride the compiler turns into vector permutes).
MG_ATTR static void FK(gather_rows)(mg_index_t nr, mg_index_t d, const T *src,
                                    mg_index_t sr, mg_index_t sc, T *buf) {
    mg_index_t j0 = 0;
    if (sr != 1 && (sc < 0 ? -sc : sc) <= (sr < 0 ? -sr : sr)) {
        for (mg_index_t r = 0; r < nr; r++) {
            const T *s = src + r * sr;
            T *b = buf + r * d;
            if (sc == 2) {
#pragma omp simd
                for (mg_index_t j = 0; j < d; j++)
                    b[j] = s[2 * j];
            } else {
                for (mg_index_t j = 0; j < d; j++)
                    b[j] = s[j * sc];
            }
        }
        return;
    }
#ifdef TR_TILE
    if (sr == 1 && nr % TR_W == 0) {
        for (mg_index_t r = 0; r < nr; r += TR_W)
            for (mg_index_t j = 0; j + TR_W <= d; j += TR_W) {
                // Each column is on another page, where the hardware
                // prefetchers stop: the loads of tile PF ahead are issued
                // now (past the end: a prefetch does not fault).
                for (mg_index_t i = 0; i < TR_W; i++)
                    __builtin_prefetch(src + r + (j + TR_PF * TR_W + i) * sc);
                TR_TILE(src + r + j * sc, sc, buf + r * d + j, d);
            }
        j0 = d - d % TR_W;
    }
#endif
    for (mg_index_t j = j0; j < d; j++)
        for (mg_index_t r = 0; r < nr; r++)
            buf[r * d + j] = src[r * sr + j * sc];
}

// The loss of row xr from its log-sum-exp m + ls (m = max x, ls = log s;
// each -log p_j is taken as (m - x_j) + ls, which keeps ls when |m| is large),
// and (g != NULL) its gradient from e = exp(x - m) already in g and s = Σ e.
MG_ATTR static inline T FK(xent_row_out)(mg_index_t c, const T *xr, int64_t t,
                                         T m, T ls, T s,
                                         const FN(xent_par) * P, T *g) {
    if (t == P->ignore) {
        if (g)
            for (mg_index_t j = 0; j < c; j++)
                g[j] = 0;
        return 0;
    }
    const T *w = P->w;
    T wt = w ? w[t] : (T)1;
    T v = P->keep * wt * ((m - xr[t]) + ls);
    if (P->smooth) {
        // Σ w_j·(lse - x_j), not W·lse - Σ w_j·x_j: each term is >= 0, so no
        // cancellation (which made the loss of large logits wrong, even below
        // 0) and the terms are PyTorch's -log_softmax.
        T dot = 0;
        if (w) {
            for (mg_index_t j = 0; j < c; j++)
                dot += w[j] * ((m - xr[j]) + ls);
        } else {
            for (mg_index_t j = 0; j < c; j++)
                dot += (m - xr[j]) + ls;
        }
        v += P->ec * dot;
    }
    if (g) {
        // g_j = sc·(p_j·a - ec·w_j) - [j = t]·sc·keep·w_t, p_j = e_j / s.
        T sc = P->sc;
        T k = sc * (P->keep * wt + P->ec * P->W) / s;
        T b = sc * P->ec;
        if (w && P->smooth) {
            for (mg_index_t j = 0; j < c; j++)
                g[j] = g[j] * k - b * w[j];
        } else {
            for (mg_index_t j = 0; j < c; j++)
                g[j] = g[j] * k - b;
        }
        g[t] -= sc * P->keep * wt;
    }
    return v;
}

// Rows [0, nr) of logits x (nr, c), nr <= MG_SM_ROWS, short rows: the
// block is transposed into e (column j of the block is e[j·nr ...]), so
// that every per-row step below is a vector loop across rows rather than a
// loop of c < MG_SM_SHORT elements (Note [Short rows]). gx (may be NULL)
// receives the gradient rows.
MG_ATTR static void FK(xent_rows_short)(mg_index_t nr, mg_index_t c, const T *x,
                                        const int64_t *target,
                                        const FN(xent_par) * P, T *loss, T *lse,
                                        T *gx) {
    T e[MG_SM_BUF];
    T m[MG_SM_ROWS], s[MG_SM_ROWS], k[MG_SM_ROWS], b[MG_SM_ROWS];
    T ls[MG_SM_ROWS];
    const T *w = P->w;
    for (mg_index_t j = 0; j < c; j++)
        for (mg_index_t r = 0; r < nr; r++)
            e[j * nr + r] = x[r * c + j];
    for (mg_index_t r = 0; r < nr; r++) {
        m[r] = -(T)INFINITY;
        s[r] = 0;
    }
    for (mg_index_t j = 0; j < c; j++) {
        const T *ej = e + j * nr;
#pragma omp simd
        for (mg_index_t r = 0; r < nr; r++)
            m[r] = ej[r] > m[r] ? ej[r] : m[r];
    }
    for (mg_index_t j = 0; j < c; j++) {
        T *ej = e + j * nr;
#pragma omp simd
        for (mg_index_t r = 0; r < nr; r++) {
            T v = EXP(ej[r] - m[r]);
            ej[r] = v;
            s[r] += v;
        }
    }
#pragma omp simd
    for (mg_index_t r = 0; r < nr; r++) {
        ls[r] = LOG(s[r]);
        lse[r] = m[r] + ls[r];
    }
    // Per row: the loss, and the gradient's factors k (of e) and b (of w).
    for (mg_index_t r = 0; r < nr; r++) {
        int64_t t = target[r];
        const T *xr = x + r * c;
        if (t == P->ignore) {
            loss[r] = 0;
            k[r] = b[r] = 0;
            continue;
        }
        T mr = m[r], lr = ls[r], wt = w ? w[t] : (T)1;
        T v = P->keep * wt * ((mr - xr[t]) + lr); // as in xent_row_out
        if (P->smooth) {
            T dot = 0;
            for (mg_index_t j = 0; j < c; j++)
                dot += (w ? w[j] : (T)1) * ((mr - xr[j]) + lr);
            v += P->ec * dot;
        }
        loss[r] = v;
        k[r] = P->sc * (P->keep * wt + P->ec * P->W) / s[r];
        b[r] = P->sc * P->ec;
    }
    if (!gx)
        return;
    // g_j = e_j·k - b·w_j, then the target's -sc·keep·w_t (see xent_row_out).
    for (mg_index_t r = 0; r < nr; r++) {
        T *g = gx + r * c;
        T kr = k[r], br = b[r];
        for (mg_index_t j = 0; j < c; j++)
            g[j] = e[j * nr + r] * kr - br * (w ? w[j] : (T)1);
        int64_t t = target[r];
        if (t != P->ignore)
            g[t] -= P->sc * P->keep * (w ? w[t] : (T)1);
    }
}

// One long row; g (may be NULL) receives the gradient.
MG_ATTR static void FK(xent_row_long)(mg_index_t c, const T *x, int64_t t,
                                      const FN(xent_par) * P, T *loss, T *lse,
                                      T *g) {
    T m = -(T)INFINITY, s = 0;
#pragma omp simd reduction(max : m)
    for (mg_index_t j = 0; j < c; j++)
        m = x[j] > m ? x[j] : m;
    if (g) {
#pragma omp simd reduction(+ : s)
        for (mg_index_t j = 0; j < c; j++) {
            T v = EXP(x[j] - m);
            g[j] = v;
            s += v;
        }
    } else {
#pragma omp simd reduction(+ : s)
        for (mg_index_t j = 0; j < c; j++)
            s += EXP(x[j] - m);
    }
    T ls = LOG(s);
    *lse = m + ls;
    *loss = FK(xent_row_out)(c, x, t, m, ls, s, P, g);
}

// Backward from the saved lse: e = exp(x - lse) = p directly, so s = 1.
// x - lse <= 0 (to a rounding) for the forward's lse, but lse is the
// caller's: a row with x - lse > EXP_SAT is done again with EXP_ANY.
MG_ATTR static void FK(xent_bwd_rows)(mg_index_t nr, mg_index_t c, const T *x,
                                      const T *lse, const int64_t *target,
                                      const FN(xent_par) * P, const T *scale,
                                      mg_index_t inc_scale, T *gx) {
    if (c < MG_SM_SHORT) {
        int big = 0;
        for (mg_index_t r = 0; r < nr; r++)
            for (mg_index_t j = 0; j < c; j++) {
                T v = x[r * c + j] - lse[r];
                gx[r * c + j] = v;
                big |= v > EXP_SAT;
            }
        mg_index_t k = nr * c;
        if (big) {
#pragma omp simd
            for (mg_index_t q = 0; q < k; q++)
                gx[q] = EXP_ANY(gx[q]);
        } else {
#pragma omp simd
            for (mg_index_t q = 0; q < k; q++)
                gx[q] = EXP(gx[q]);
        }
    } else {
        for (mg_index_t r = 0; r < nr; r++) {
            const T *xr = x + r * c;
            T *g = gx + r * c, l = lse[r];
            int big = 0;
#pragma omp simd reduction(| : big)
            for (mg_index_t j = 0; j < c; j++) {
                T v = xr[j] - l;
                g[j] = EXP(v);
                big |= v > EXP_SAT;
            }
            if (big) {
#pragma omp simd
                for (mg_index_t j = 0; j < c; j++)
                    g[j] = EXP_ANY(xr[j] - l);
            }
        }
    }
    FN(xent_par) Q = *P;
    for (mg_index_t r = 0; r < nr; r++) {
        Q.sc = scale[r * inc_scale];
        // Only the gradient part of xent_row_out is wanted; its loss value
        // is discarded (and costs O(1) without smoothing).
        (void)FK(xent_row_out)(c, x + r * c, target[r], lse[r], (T)0, (T)1,
                               &Q, gx + r * c);
    }
}

// PyTorch's: each log clamped at -100, so x = 0 or 1 gives a finite loss.
// Returns whether some x is outside [0, 1] (or NaN).
MG_ATTR static int FK(bce_fwd_blk)(mg_index_t n, const T *x, const T *t,
                                   const T *w, T *loss) {
    int bad = 0;
#pragma omp simd reduction(| : bad)
    for (mg_index_t i = 0; i < n; i++) {
        T xv = x[i], tv = t[i];
        bad |= !(xv >= 0 && xv <= 1);
        T lx = LOG(xv), l1 = LOG((T)1 - xv);
        lx = lx < (T)-100 ? (T)-100 : lx;
        l1 = l1 < (T)-100 ? (T)-100 : l1;
        T v = -(tv * lx + ((T)1 - tv) * l1);
        loss[i] = w ? w[i] * v : v;
    }
    return bad;
}

// gx = g·w·(x - t) / max(x·(1 - x), 1e-12); gt = g·w·(log(1 - x) - log x).
MG_ATTR static void FK(bce_bwd_blk)(mg_index_t n, const T *x, const T *t,
                                    const T *w, const T *g, mg_index_t inc_g,
                                    T *gx, T *gt) {
    if (gx) {
#pragma omp simd
        for (mg_index_t i = 0; i < n; i++) {
            T xv = x[i];
            T d = xv * ((T)1 - xv);
            d = d < (T)1e-12 ? (T)1e-12 : d;
            T gw = g[i * inc_g] * (w ? w[i] : (T)1);
            gx[i] = gw * (xv - t[i]) / d;
        }
    }
    if (gt) {
#pragma omp simd
        for (mg_index_t i = 0; i < n; i++) {
            T xv = x[i];
            T gw = g[i * inc_g] * (w ? w[i] : (T)1);
            gt[i] = gw * (LOG((T)1 - xv) - LOG(xv));
        }
    }
}

MG_ATTR static void FK(bcel_fwd_blk)(mg_index_t n, const T *x, const T *t,
                                     const T *w, const T *pw, T *loss) {
#pragma omp simd
    for (mg_index_t i = 0; i < n; i++) {
        T xv = x[i], tv = t[i];
        T ax = xv < 0 ? -xv : xv;
        T nx = xv < 0 ? -xv : (T)0;
        T sp = nx + LOG1P(EXP(-ax)); // softplus(-x)
        T lw = pw ? (T)1 + (pw[i] - (T)1) * tv : (T)1;
        T v = ((T)1 - tv) * xv + lw * sp;
        loss[i] = w ? w[i] * v : v;
    }
}

MG_ATTR static void FK(bcel_bwd_blk)(mg_index_t n, const T *x, const T *t,
                                     const T *w, const T *pw, const T *g,
                                     mg_index_t inc_g, T *gx, T *gt) {
    // Two loops: a store under `if` inside one would keep it scalar.
    if (gx) {
#pragma omp simd
        for (mg_index_t i = 0; i < n; i++) {
            T xv = x[i], tv = t[i];
            T ax = xv < 0 ? -xv : xv;
            T e = EXP(-ax);
            T r = (T)1 / ((T)1 + e);
            T sig_neg = xv < 0 ? r : e * r; // sigmoid(-x), stable
            T lw = pw ? (T)1 + (pw[i] - (T)1) * tv : (T)1;
            T gw = g[i * inc_g] * (w ? w[i] : (T)1);
            gx[i] = gw * (((T)1 - tv) - lw * sig_neg);
        }
    }
    if (gt) {
#pragma omp simd
        for (mg_index_t i = 0; i < n; i++) {
            T xv = x[i];
            T ax = xv < 0 ? -xv : xv;
            T nx = xv < 0 ? -xv : (T)0;
            T sp = nx + LOG1P(EXP(-ax));
            T pm1 = pw ? pw[i] - (T)1 : (T)0;
            T gw = g[i * inc_g] * (w ? w[i] : (T)1);
            gt[i] = gw * (pm1 * sp - xv);
        }
    }
}

static const FN(sm_kern) FK(kern) = {
    FK(rows_fwd_short), FK(row_fwd),       FK(blk_fwd),
    FK(row_bwd),        FK(blk_bwd),       FK(gather_rows),
    FK(xent_rows_short),
    FK(xent_row_long),  FK(xent_bwd_rows), FK(bce_fwd_blk),
    FK(bce_bwd_blk),    FK(bcel_fwd_blk),  FK(bcel_bwd_blk),
};

#undef FK
