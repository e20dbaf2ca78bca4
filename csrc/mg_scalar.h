// The scalar engine's graph node and its backward sweep (minigrad.scalar.Value).
//
// One node is one scalar: its value, its gradient, and up to two children with
// the local derivative of the node with respect to each, computed when the node
// is made. Backward therefore needs no per-op code: it is one loop of
// `child->grad += d * node->grad` over a reverse topological order.
//
// The nodes live inside Python objects (the Cython layer embeds one struct per
// Value and keeps the children alive); this file only reads and writes the
// structs and knows nothing of Python.
#ifndef MG_SCALAR_H
#define MG_SCALAR_H

#include <math.h>
#include <stdint.h>

#include "mg_common.h"

struct mg_scalar_node;

// The children of an n-ary node (a neuron's `b + w0*x0 + w1*x1 + ...` made as
// one node, see MG_SCALAR_MANY): `n` children and d data / d c[i] for each.
// `c` and `d` point into the same allocation as the header (the caller makes
// it); a child may appear more than once (its contributions add up).
// The first `inner` children may have children of their own; the others are
// leaves (a node never gains children once it is some node's child), which
// backward's ordering need not visit: in a neuron, the weights and the bias.
typedef struct mg_scalar_many {
    mg_index_t n;
    mg_index_t inner;
    struct mg_scalar_node **c;
    double *d;
} mg_scalar_many;

// mg_scalar_node.flags bit: the node's children are `many`, not c0/c1, and
// `d0` is the derivative of an activation applied to the n-ary sum (relu' for
// a ReLU neuron, else 1): d data / d c[i] = d0 · d[i].
#define MG_SCALAR_MANY 0x80000000u

typedef struct mg_scalar_node {
    // The fields backward reads (grad, mark, the children, flags) come first:
    // with the Python object header they share the object's first 64 bytes.
    double grad;
    // Backward's "visited" stamp: a node was reached by the sweep whose epoch
    // equals `mark`. A counter instead of a flag, so no pass has to clear it;
    // 64 bits never wrap.
    uint64_t mark;
    // c0 is NULL in an n-ary node (flags & MG_SCALAR_MANY), whose children
    // are `many` instead: code that only looks at c0 sees a leaf.
    struct mg_scalar_node *c0;
    union {
        struct mg_scalar_node *c1;
        mg_scalar_many *many;
    };
    uint32_t op;     // an op code; its meaning belongs to the caller
    uint32_t flags;  // MG_SCALAR_MANY; the other bits are free for the caller
    double data;
    // d data / d c0 and d data / d c1. When c1 is NULL, d1 holds the op's
    // constant operand instead (the 3.0 of `x + 3.0`, the k of `x ** k`), so
    // the graph can still be shown as written.
    double d0;
    double d1;
} mg_scalar_node;

// Backpropagates from `root`, micrograd's way: root->grad = 1, then in reverse
// topological order every node adds d·grad into each child's grad. Gradients
// accumulate, interior nodes included (nothing is zeroed first).
//
// `epoch` must differ from the `mark` of every node reachable from `root`
// (the caller increments a counter per call). The graph must be acyclic and
// must not change during the call. The order comes from an iterative
// depth-first search, so depth is limited only by memory.
//
// Returns the number of interior nodes visited (leaves, which pass nothing
// on, are not ordered, only accumulated into), or -1 when memory ran out (no
// gradient has been changed then). The order's scratch memory is kept for the
// calling thread's next call (up to 2^20 nodes).
mg_index_t mg_scalar_backward(mg_scalar_node *root, uint64_t epoch);

// Writes into `order` (capacity `cap`) the nodes reachable from `root`,
// children before parents, and marks them with `epoch`. Returns how many there
// are, or -1 when memory ran out. If the count exceeds `cap`, only the first
// `cap` are written. `order` may be NULL when `cap` is 0 (a count).
mg_index_t mg_scalar_topo(mg_scalar_node *root, uint64_t epoch,
                          mg_scalar_node **order, mg_index_t cap);

// -- forward formulas ---------------------------------------------------------
// Each returns f(x) and stores f'(x) in *d. Domain checks (log of x <= 0, a
// negative base) are the caller's: these follow C's libm on any input.

// relu as micrograd defines it: x < 0 gives 0, otherwise x (so NaN stays NaN);
// the derivative is 1 where the result is > 0, so relu'(0) = 0 and NaN gives 0.
static inline double mg_scalar_relu(double x, double *d) {
    double y = x < 0 ? 0.0 : x;
    *d = y > 0 ? 1.0 : 0.0;
    return y;
}

// tanh saturates to ±1 in libm, so the derivative 1 - y² is exactly 0 there
// (tanh(1000) = 1, never NaN).
static inline double mg_scalar_tanh(double x, double *d) {
    double y = tanh(x);
    *d = 1.0 - y * y;
    return y;
}

// Stable logistic: e = exp(-|x|) is in (0, 1], so nothing overflows;
// sigmoid(-1000) = 0 and sigmoid(1000) = 1 exactly.
static inline double mg_scalar_sigmoid(double x, double *d) {
    double e = exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    double y = x >= 0 ? r : e * r;
    *d = y * (1.0 - y);
    return y;
}

// exp overflows to +inf past x ~ 709.78, as the math says; d = y.
static inline double mg_scalar_exp(double x, double *d) {
    double y = exp(x);
    *d = y;
    return y;
}

// Assumes x > 0 (checked by the caller).
static inline double mg_scalar_log(double x, double *d) {
    *d = 1.0 / x;
    return log(x);
}

// x ** k for a constant k; d = k·x^(k-1). k == 0 gives d = 0 everywhere (x^0
// is constant), also at x = 0 where k·x^(k-1) would be 0·inf. The common
// powers skip pow(). Assumes the caller rejected x < 0 with a non-integer k
// and x == 0 with k < 0.
static inline double mg_scalar_powc(double x, double k, double *d) {
    if (k == 2.0) {
        *d = 2.0 * x;
        return x * x;
    }
    if (k == -1.0) {
        double y = 1.0 / x;
        *d = -y * y;
        return y;
    }
    if (k == 1.0) {
        *d = 1.0;
        return x;
    }
    if (k == 0.0) {
        *d = 0.0;
        return 1.0;
    }
    *d = k * pow(x, k - 1.0);
    return pow(x, k);
}

// a ** b with both differentiable: da = b·a^(b-1), db = a^b·ln a. Assumes
// a >= 0 (checked by the caller: ln a is needed). At a == 0 the limit
// a^b·ln a -> 0 (b > 0) is used for db, and da follows powc.
static inline double mg_scalar_pow(double a, double b, double *da,
                                   double *db) {
    double y = mg_scalar_powc(a, b, da);
    *db = a == 0.0 ? 0.0 : y * log(a);
    return y;
}

#endif
