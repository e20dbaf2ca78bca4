// The scalar engine's backward sweep (see mg_scalar.h for the contract).
#include <stdint.h>
#include <stdlib.h>

#include "mg_scalar.h"

// A growable array of node pointers. The depth-first search below keeps its
// "children done" flag in the low bit of a pointer (nodes are 8-byte aligned),
// so one array serves as its stack.
typedef struct {
    mg_scalar_node **p;
    mg_index_t n;
    mg_index_t cap;
} node_vec;

static int vec_push(node_vec *v, mg_scalar_node *x) {
    if (v->n == v->cap) {
        mg_index_t cap = v->cap ? 2 * v->cap : 256;
        mg_scalar_node **p = realloc(v->p, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = x;
    return 0;
}

#define DONE_BIT ((uintptr_t)1)

static mg_scalar_node *tagged(mg_scalar_node *x) {
    return (mg_scalar_node *)((uintptr_t)x | DONE_BIT);
}

// A node with no children: nothing to propagate, so backward need not order it
// (its gradient is accumulated by its parents all the same).
static inline int is_leaf(const mg_scalar_node *x) {
    return x->c0 == NULL && !(x->flags & MG_SCALAR_MANY);
}

// Depth-first post-order into `order`: every node after all of its
// descendants; leaves other than `root` only when `leaves` is set. A node is
// stamped when it is expanded, not when it is pushed: stamping at push time
// would let a node that is still waiting on the stack be skipped by another
// parent and emitted before a descendant of it. `stack` is scratch space (its
// memory is reused by the caller).
// Assumes: the graph is acyclic, so a stamped child is already emitted.
static int topo_sort(mg_scalar_node *root, uint64_t epoch, node_vec *order,
                     node_vec *stack, int leaves) {
    stack->n = 0;
    int rc = vec_push(stack, root);
#define WANT(c) ((c)->mark != epoch && (leaves || !is_leaf(c)))
    while (rc == 0 && stack->n > 0) {
        mg_scalar_node *x = stack->p[--stack->n];
        if ((uintptr_t)x & DONE_BIT) {
            rc = vec_push(order, (mg_scalar_node *)((uintptr_t)x & ~DONE_BIT));
            continue;
        }
        if (x->mark == epoch)
            continue;  // reached again through another parent
        x->mark = epoch;
        rc = vec_push(stack, tagged(x));
        if (x->flags & MG_SCALAR_MANY) {
            // Last child pushed first, so c[0] is expanded first.
            mg_index_t n = leaves ? x->many->n : x->many->inner;
            for (mg_index_t i = n - 1; rc == 0 && i >= 0; i--)
                if (WANT(x->many->c[i]))
                    rc = vec_push(stack, x->many->c[i]);
            continue;
        }
        // c1 is pushed first so that c0 is expanded first, like a recursive
        // search over (c0, c1).
        if (rc == 0 && x->c1 && WANT(x->c1))
            rc = vec_push(stack, x->c1);
        if (rc == 0 && x->c0 && WANT(x->c0))
            rc = vec_push(stack, x->c0);
    }
#undef WANT
    return rc;
}

mg_index_t mg_scalar_topo(mg_scalar_node *root, uint64_t epoch,
                          mg_scalar_node **order, mg_index_t cap) {
    node_vec v = {0}, stack = {0};
    int rc = topo_sort(root, epoch, &v, &stack, 1);
    free(stack.p);
    if (rc != 0) {
        free(v.p);
        return -1;
    }
    for (mg_index_t i = 0; i < v.n && i < cap; i++)
        order[i] = v.p[i];
    mg_index_t n = v.n;
    free(v.p);
    return n;
}

// backward's scratch arrays, kept between calls (per thread: backward runs
// without the GIL): a training step sorts a graph of the same size each time,
// and growing and freeing ~100 KB per call cost a tenth of a small step.
// Arrays past KEEP_MAX entries are freed after the call.
#define KEEP_MAX ((mg_index_t)1 << 20)
static _Thread_local node_vec bw_order, bw_stack;

static void trim(node_vec *v) {
    if (v->cap > KEEP_MAX) {
        free(v->p);
        *v = (node_vec){0};
    }
}

mg_index_t mg_scalar_backward(mg_scalar_node *root, uint64_t epoch) {
    node_vec *order = &bw_order;
    order->n = 0;
    int rc = topo_sort(root, epoch, order, &bw_stack, 0);
    trim(&bw_stack);
    if (rc != 0) {
        trim(order);
        return -1;
    }
    // NOTE: the root's gradient is set, not accumulated (micrograd's
    // `self.grad = 1`); everything below accumulates.
    root->grad = 1.0;
    for (mg_index_t i = order->n - 1; i >= 0; i--) {
        const mg_scalar_node *x = order->p[i];
        double g = x->grad;
        if (x->flags & MG_SCALAR_MANY) {
            const mg_scalar_many *m = x->many;
            // The activation's node of the unfused graph would pass d0·g
            // on to the sum's node, which passes it on with each d[j].
            g = x->d0 * g;
            for (mg_index_t j = 0; j < m->n; j++)
                m->c[j]->grad += m->d[j] * g;
            continue;
        }
        if (x->c0)
            x->c0->grad += x->d0 * g;
        if (x->c1)
            x->c1->grad += x->d1 * g;
    }
    mg_index_t n = order->n;
    trim(order);
    return n;
}
