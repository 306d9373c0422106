/* cadose's step, compiled: Cadose._raw_python in ben_cli/detect/cadose.py is the definition.
 *
 * A Core holds one series' dictionary of contexts and gives, point by point, exactly the raw
 * score the definition gives (the same float), learning the same contexts in the same slots. A
 * property test (tests/test_detect_cadose.py) and the native_cadose fuzz target compare
 * the two on random series, cut and resumed through the saved state.
 *
 * Representation. The definition keeps a left semi-context as a Python int, one bit a fact: the
 * value facts in the low 2 * bits bits, then one neuron fact a slot. Here a left part is its value
 * facts (a byte) and the sorted numbers of the slots it names (at most `neurons` of them: a
 * zero-level context's left part is a whole group, which holds at most `neurons` active contexts,
 * and a crossing's is a subset of one). Python builds a Core only from a state that fits this (see
 * Cadose._compile); any other state stays with the definition.
 *
 * The definition walks the slots its previous step found crossed (or fully met) by the group;
 * here every slot is tested against the group again. The sets are equal: between the end of one
 * step and the loop of the next, the only slots whose left part changes are the reused slot of a
 * new zero-level context (skipped by both) and the slots it purged (left part 0: met by nothing).
 *
 * Integer columns have the widths of the definition's arrays (counts 16-bit, ranks 32-bit); where
 * the definition's array would refuse a value (OverflowError), so does this.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* built with -ffp-contract=off (pyproject.toml): no fused multiply-add, the same floats as Python */

#define HALVE_AT (1 << 30)
#define HALVE_COUNTS_AT 65528 /* a count past it is halved before it grows (by 4 at most): 16 bits hold it */
#define FREED (-1)
#define MAX_NEURONS 64

typedef struct {
    uint8_t sens;
    uint8_t n;
    uint16_t neu[MAX_NEURONS];
} Left;

typedef struct {
    Left left;
    uint8_t right;
} Pair;

typedef struct {
    PyObject_HEAD
    /* configuration */
    int bits, steps, k, most, cap, lag;
    double margin;
    int has_range;
    double range_lo, range_hi;
    /* state */
    int has_lo;
    double lo, hi;
    int64_t clock;
    Left group;
    uint8_t predicted;
    int n, alloc;
    uint8_t *l_sens, *l_n, *right, *zero;
    uint16_t *pool; /* the slots' neuron numbers, slot after slot (l_n each), nothing between */
    uint32_t pool_len, pool_cap;
    uint16_t *total, *hits, *act; /* counts, halved together past HALVE_COUNTS_AT */
    int32_t *rank;
} Core;

/* scratch shared by every core (the GIL is held throughout a step): one buffer a process, sized by
 * the largest cap met, from malloc (a series' own memory, from PyMem, is what tracemalloc shows) */
static int32_t *s_active;
static Pair *s_cross;
static Pair *s_unique;
static uint64_t *s_in; /* the group being tested, one bit a slot (cleared after each use) */
static int s_size;

static int
scratch(int size)
{
    if (size <= s_size)
        return 0;
    int32_t *a = realloc(s_active, sizeof(int32_t) * (size_t)size);
    if (a == NULL)
        goto fail;
    s_active = a;
    Pair *c = realloc(s_cross, sizeof(Pair) * (size_t)size);
    if (c == NULL)
        goto fail;
    s_cross = c;
    Pair *u = realloc(s_unique, sizeof(Pair) * (size_t)(size + 1));
    if (u == NULL)
        goto fail;
    s_unique = u;
    uint64_t *in = realloc(s_in, sizeof(uint64_t) * (size_t)(size / 64 + 1));
    if (in == NULL)
        goto fail;
    memset(in, 0, sizeof(uint64_t) * (size_t)(size / 64 + 1));
    s_in = in;
    s_size = size;
    return 0;
fail:
    PyErr_NoMemory();
    return -1;
}

static uint8_t POPCOUNT[256];

static inline int
popcount8(unsigned v)
{
    return POPCOUNT[v & 0xFFu];
}

static inline int
left_empty(const Left *a)
{
    return a->sens == 0 && a->n == 0;
}

static inline int
left_eq(const Left *a, const Left *b)
{
    return a->sens == b->sens && a->n == b->n && memcmp(a->neu, b->neu, sizeof(uint16_t) * a->n) == 0;
}

/* Every loop over the slots walks the pool beside them (`a`, the slot's neurons, moves on by its
 * l_n), so no slot keeps an offset: a left part costs 2 B a neuron it names and nothing more. */
static inline uint32_t
offset_of(const Core *c, int slot)
{
    uint32_t at = 0;
    for (int s = 0; s < slot; s++)
        at += c->l_n[s];
    return at;
}

static inline int
slot_eq(const Core *c, int slot, const uint16_t *a, const Left *left)
{
    return c->l_sens[slot] == left->sens && c->l_n[slot] == left->n &&
           memcmp(a, left->neu, sizeof(uint16_t) * left->n) == 0;
}

/* The group's slots as bits of s_in while a loop tests slots against it: a slot's neurons are then
 * looked up one by one, instead of merging two sorted lists (the same sets, found faster). */
static inline void
mark(const Left *g, int on)
{
    for (int i = 0; i < g->n; i++) {
        uint64_t bit = (uint64_t)1 << (g->neu[i] & 63);
        if (on)
            s_in[g->neu[i] >> 6] |= bit;
        else
            s_in[g->neu[i] >> 6] &= ~bit;
    }
}

static inline int
marked(uint16_t slot)
{
    return (int)((s_in[slot >> 6] >> (slot & 63)) & 1);
}

/* met = left part of `slot` & the marked group g (kept sorted); returns met's fact count */
static inline int
meet(const Core *c, int slot, const uint16_t *a, const Left *g, Left *met)
{
    int na = c->l_n[slot], m = 0;
    for (int i = 0; i < na; i++)
        if (marked(a[i]))
            met->neu[m++] = a[i];
    met->n = (uint8_t)m;
    met->sens = c->l_sens[slot] & g->sens;
    return popcount8(met->sens) + m;
}

/* whether the neuron facts of `slot` all lie in the marked group */
static inline int
neurons_within(const Core *c, int slot, const uint16_t *a)
{
    int na = c->l_n[slot];
    for (int i = 0; i < na; i++)
        if (!marked(a[i]))
            return 0;
    return 1;
}

/* whether the left part of `slot` lies inside the marked group g (and meets it) */
static inline int
within(const Core *c, int slot, const uint16_t *a, const Left *g)
{
    int na = c->l_n[slot];
    uint8_t sens = c->l_sens[slot];
    if (sens & ~g->sens)
        return 0;
    if (sens == 0 && na == 0)
        return 0;
    return neurons_within(c, slot, a);
}

static inline int
names(const uint16_t *a, int na, int neuron)
{
    for (int i = 0; i < na; i++)
        if (a[i] == neuron)
            return 1;
    return 0;
}

static int
find(const Core *c, const Left *left, uint8_t right)
{
    const uint16_t *a = c->pool;
    for (int slot = 0; slot < c->n; a += c->l_n[slot], slot++)
        if (c->right[slot] == right && slot_eq(c, slot, a, left))
            return slot;
    return -1;
}

static int
grow(Core *c)
{
    int want = c->alloc ? c->alloc * 2 : 16;
    if (want > c->cap)
        want = c->cap;
    size_t w = (size_t)want;
#define GROW(field, type, count)                                          \
    do {                                                                  \
        type *p = PyMem_Realloc(c->field, sizeof(type) * (count));        \
        if (p == NULL) {                                                  \
            PyErr_NoMemory();                                             \
            return -1;                                                    \
        }                                                                 \
        c->field = p;                                                     \
    } while (0)
    GROW(l_sens, uint8_t, w);
    GROW(l_n, uint8_t, w);
    GROW(right, uint8_t, w);
    GROW(zero, uint8_t, w);
    GROW(total, uint16_t, w);
    GROW(hits, uint16_t, w);
    GROW(act, uint16_t, w);
    GROW(rank, int32_t, w);
#undef GROW
    c->alloc = want;
    return 0;
}

/* Room in the pool for `need` more neurons (a little more, so that a run of adds reallocates seldom) */
static int
reserve(Core *c, uint32_t need)
{
    if (c->pool != NULL && c->pool_len + need <= c->pool_cap)
        return 0;
    uint32_t cap = c->pool_len + need;
    cap += cap / 16 + 16;
    uint16_t *pool = PyMem_Realloc(c->pool, sizeof(uint16_t) * cap);
    if (pool == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    c->pool = pool;
    c->pool_cap = cap;
    return 0;
}

/* slot's left part becomes `left` (its old neurons, if any, give way; the slots after it move) */
static int
set_left(Core *c, int slot, const Left *left)
{
    int old = c->l_n[slot];
    if (reserve(c, left->n > old ? (uint32_t)(left->n - old) : 0) < 0) /* returns at once when it fits */
        return -1;
    uint32_t at = offset_of(c, slot);
    memmove(c->pool + at + left->n, c->pool + at + old, sizeof(uint16_t) * (c->pool_len - at - (uint32_t)old));
    memcpy(c->pool + at, left->neu, sizeof(uint16_t) * left->n);
    c->pool_len = c->pool_len - (uint32_t)old + left->n;
    c->l_sens[slot] = left->sens;
    c->l_n[slot] = left->n;
    return 0;
}

/* Before `slot` is reused: its own left part and every one naming its neuron are forgotten (those
 * slots freed), the pool closing up behind them in the same pass. */
static void
purge(Core *c, int slot)
{
    uint32_t read = 0, write = 0;
    for (int other = 0; other < c->n; other++) {
        int na = c->l_n[other];
        const uint16_t *a = c->pool + read;
        read += (uint32_t)na;
        if (other == slot || names(a, na, slot)) {
            if (other != slot)
                c->rank[other] = FREED;
            c->l_sens[other] = 0;
            c->l_n[other] = 0;
            continue;
        }
        if (write != read - (uint32_t)na)
            memmove(c->pool + write, a, sizeof(uint16_t) * (size_t)na);
        write += (uint32_t)na;
    }
    c->pool_len = write;
    Left *g = &c->group;
    for (int i = 0; i < g->n; i++)
        if (g->neu[i] == slot) {
            memmove(g->neu + i, g->neu + i + 1, sizeof(uint16_t) * (size_t)(g->n - i - 1));
            g->n--;
            break;
        }
}

static int
add(Core *c, const Left *left, uint8_t right, uint8_t zero)
{
    int slot;
    if (c->n < c->cap) {
        if (c->n == c->alloc && grow(c) < 0)
            return -1;
        slot = c->n++;
        c->l_sens[slot] = 0;
        c->l_n[slot] = 0;
        c->rank[slot] = 0;
    }
    else {
        slot = 0;
        for (int s = 1; s < c->n; s++)
            if (c->rank[s] < c->rank[slot])
                slot = s;
        purge(c, slot);
    }
    if (set_left(c, slot, left) < 0)
        return -1;
    c->right[slot] = right;
    c->total[slot] = c->hits[slot] = c->act[slot] = 0;
    c->zero[slot] = zero;
    int64_t r = c->clock - c->lag;
    if (r < 0)
        r = 0;
    if (r > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "signed integer is greater than maximum");
        return -1;
    }
    c->rank[slot] = (int32_t)r;
    return slot;
}

static void
rebase(Core *c)
{
    int64_t base = c->clock;
    int any = 0;
    for (int s = 0; s < c->n; s++)
        if (c->rank[s] >= 0 && (!any || c->rank[s] < base)) {
            base = c->rank[s];
            any = 1;
        }
    for (int s = 0; s < c->n; s++)
        if (c->rank[s] >= 0)
            c->rank[s] = (int32_t)(c->rank[s] - base);
    c->clock -= base;
}

static uint8_t
facts_of(Core *c, double value)
{
    double lo = c->lo;
    if (!c->has_lo) {
        c->has_lo = 1;
        if (!c->has_range)
            c->lo = c->hi = lo = value;
        else {
            c->lo = lo = value < c->range_lo ? value : c->range_lo;
            c->hi = value > c->range_hi ? value : c->range_hi;
        }
    }
    else if (value < lo) /* base.track_range: margin 0 moves the end to the value itself */
        c->lo = lo = c->margin != 0.0 ? value - c->margin * (c->hi - value) : value;
    else if (value > c->hi)
        c->hi = c->margin != 0.0 ? value + c->margin * (value - lo) : value;
    double span = c->hi - lo;
    double where = span > 0.0 ? (value - lo) / span * c->steps : 0.0;
    int level;
    if (where != where)
        level = 0;
    else if (where >= c->steps)
        level = c->steps;
    else
        level = (int)where;
    unsigned facts = 0;
    for (int i = 0; i < c->bits; i++)
        facts |= 1u << (2 * i + ((level >> i) & 1));
    return (uint8_t)facts;
}

static int
bump(uint16_t *cell, int by)
{
    int v = (int)*cell + by;
    if (v > UINT16_MAX) {
        PyErr_SetString(PyExc_OverflowError, "unsigned short is greater than maximum");
        return -1;
    }
    *cell = (uint16_t)v;
    return 0;
}

static int
cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The group's neurons: the k active slots confirmed most often (of equals, the higher slots), as the
 * definition's stable sort by times confirmed keeps its last k. A min-heap of k on (times, slot). */
static int
keep_most_active(const Core *c, int n_active, uint16_t *out)
{
    if (n_active <= c->k) {
        for (int i = 0; i < n_active; i++)
            out[i] = (uint16_t)s_active[i];
        return n_active;
    }
    int k = c->k, n = 0;
#define BELOW(x, y) (c->act[x] < c->act[y] || (c->act[x] == c->act[y] && (x) < (y)))
    for (int i = 0; i < n_active && k > 0; i++) {
        int s = s_active[i], at;
        if (n < k) { /* a new leaf rises */
            at = n++;
            while (at > 0 && BELOW(s, out[(at - 1) / 2])) {
                out[at] = out[(at - 1) / 2];
                at = (at - 1) / 2;
            }
        }
        else if (BELOW(out[0], s)) { /* it replaces the minimum, and sinks */
            at = 0;
            for (;;) {
                int child = 2 * at + 1;
                if (child >= n)
                    break;
                if (child + 1 < n && BELOW(out[child + 1], out[child]))
                    child++;
                if (!BELOW(out[child], s))
                    break;
                out[at] = out[child];
                at = child;
            }
        }
        else
            continue;
        out[at] = (uint16_t)s;
    }
#undef BELOW
    return n;
}

/* one step; -1.0 with an exception set on error */
static double
step(Core *c, double value)
{
    if (scratch(c->cap) < 0)
        return -1.0;
    if (c->clock >= HALVE_AT)
        rebase(c);
    c->clock += 1;
    int64_t clock = c->clock;
    uint8_t facts = facts_of(c, value);
    uint8_t unpredicted = facts & (uint8_t)~c->predicted;
    Left before = c->group;
    int new_slot = -1;
    if (!left_empty(&before)) {
        int slot = find(c, &before, facts);
        if (slot < 0) {
            new_slot = add(c, &before, facts, 1);
            if (new_slot < 0)
                return -1.0;
        }
        else
            c->zero[slot] = 1;
    }
    int fresh = new_slot >= 0;
    int selected = 0, n_active = 0, n_cross = 0;
    Left met;
    mark(&before, 1);
    const uint16_t *a = c->pool;
    for (int slot = 0; slot < c->n; a += c->l_n[slot], slot++) {
        uint8_t sens = c->l_sens[slot];
        if (slot == new_slot || (sens == 0 && c->l_n[slot] == 0))
            continue;
        uint8_t right = c->right[slot];
        uint8_t hit = right & facts;
        int size = 0;
        int whole; /* the left part lies inside the previous group: the context was selected */
        if (hit && fresh && c->zero[slot]) { /* a crossing may come of it: the meet itself is needed */
            size = meet(c, slot, a, &before, &met);
            if (size == 0)
                continue;
            whole = met.sens == sens && met.n == c->l_n[slot];
        }
        else /* only a selected context does anything: its left part met in full */
            whole = !(sens & ~before.sens) && neurons_within(c, slot, a);
        if (whole) {
            selected++;
            if (c->total[slot] > HALVE_COUNTS_AT) {
                c->total[slot] >>= 1;
                c->hits[slot] >>= 1;
                c->act[slot] >>= 1;
            }
            if (bump(&c->total[slot], popcount8(right)) < 0)
                goto unmark;
            if (clock > INT32_MAX) {
                PyErr_SetString(PyExc_OverflowError, "signed integer is greater than maximum");
                goto unmark;
            }
            c->rank[slot] = (int32_t)clock;
            if (hit == right) {
                if (bump(&c->act[slot], 1) < 0 || bump(&c->hits[slot], popcount8(hit)) < 0)
                    goto unmark;
                s_active[n_active++] = slot;
                continue;
            }
            if (hit && bump(&c->hits[slot], popcount8(hit)) < 0)
                goto unmark;
        }
        if (size && size <= c->most) { /* size is set only where hit, fresh and a zero-level context */
            s_cross[n_cross].left = met;
            s_cross[n_cross].right = hit;
            n_cross++;
        }
    }
    double share_active = selected ? (double)n_active / (double)selected : 0.0;
    mark(&before, 0);
    Left *g = &c->group;
    g->sens = facts;
    g->n = (uint8_t)keep_most_active(c, n_active, g->neu);
    qsort(g->neu, (size_t)g->n, sizeof(uint16_t), cmp_u16);
    int added = 0, n_unique = 0;
    if (fresh) {
        s_unique[0].left = before;
        s_unique[0].right = facts;
        n_unique = 1;
    }
    for (int i = 0; i < n_cross; i++) {
        const Pair *p = &s_cross[i];
        int seen = 0;
        for (int u = 0; u < n_unique; u++)
            if (s_unique[u].right == p->right && left_eq(&s_unique[u].left, &p->left)) {
                seen = 1;
                break;
            }
        if (seen)
            continue;
        s_unique[n_unique++] = *p;
        if (find(c, &p->left, p->right) < 0) {
            if (add(c, &p->left, p->right, 0) < 0)
                return -1.0;
            added++;
        }
    }
    double best = 0.0;
    uint8_t predicted = 0;
    mark(g, 1);
    a = c->pool;
    for (int slot = 0; slot < c->n; a += c->l_n[slot], slot++) {
        if (!within(c, slot, a, g))
            continue;
        int32_t total = c->total[slot];
        double weight = total ? (double)c->hits[slot] / (double)total : 0.0;
        if (weight > best) {
            best = weight;
            predicted = c->right[slot];
        }
        else if (weight == best)
            predicted |= c->right[slot];
    }
    mark(g, 0);
    c->predicted = predicted;
    if (!unpredicted)
        return 0.0;
    double share_added = fresh ? (double)(added + 1) / (double)n_unique : 0.0;
    return (1.0 - share_active + share_added) / 2.0;
unmark: /* an error inside the loop over the previous group: the scratch bits must be left clear */
    mark(&before, 0);
    return -1.0;
}

/* -- the Python type ------------------------------------------------------------------------ */

static void
core_dealloc(Core *c)
{
    PyMem_Free(c->l_sens);
    PyMem_Free(c->l_n);
    PyMem_Free(c->right);
    PyMem_Free(c->zero);
    PyMem_Free(c->pool);
    PyMem_Free(c->total);
    PyMem_Free(c->hits);
    PyMem_Free(c->act);
    PyMem_Free(c->rank);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static int
core_init(Core *c, PyObject *args, PyObject *kwds)
{
    static char *kw[] = {"bits", "neurons", "left", "contexts", "lag", "margin", "range_lo", "range_hi", NULL};
    PyObject *rlo = Py_None, *rhi = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iiiiid|OO", kw, &c->bits, &c->k, &c->most, &c->cap, &c->lag,
                                     &c->margin, &rlo, &rhi))
        return -1;
    if (c->bits < 1 || c->bits > 4 || c->k < 0 || c->k > MAX_NEURONS || c->cap < 1 || c->cap > 65535) {
        PyErr_SetString(PyExc_ValueError, "bits 1 to 4, neurons 0 to 64, contexts 1 to 65535");
        return -1;
    }
    c->steps = (1 << c->bits) - 1;
    c->has_range = rlo != Py_None && rhi != Py_None;
    if (c->has_range) {
        c->range_lo = PyFloat_AsDouble(rlo);
        c->range_hi = PyFloat_AsDouble(rhi);
        if (PyErr_Occurred())
            return -1;
    }
    return 0;
}

static PyObject *
core_raw(Core *c, PyObject *arg)
{
    double value = PyFloat_AsDouble(arg);
    if (value == -1.0 && PyErr_Occurred())
        return NULL;
    double out = step(c, value);
    if (out < 0.0)
        return NULL;
    return PyFloat_FromDouble(out);
}

static int
read_left(PyObject *pair, int k, int cap, Left *out)
{
    /* (value facts, [slot, ...] ascending) */
    int sens;
    PyObject *neu;
    if (!PyArg_ParseTuple(pair, "iO", &sens, &neu))
        return -1;
    PyObject *seq = PySequence_Fast(neu, "neurons must be a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (sens < 0 || sens > 255 || n > k) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "a left part does not fit");
        return -1;
    }
    out->sens = (uint8_t)sens;
    out->n = (uint8_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        long s = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if ((s == -1 && PyErr_Occurred()) || s < 0 || s >= cap || (i && s <= out->neu[i - 1])) {
            Py_DECREF(seq);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a left part names no slot, or not in order");
            return -1;
        }
        out->neu[i] = (uint16_t)s;
    }
    Py_DECREF(seq);
    return 0;
}

static int
read_column(PyObject *buf, void *dst, size_t item, int n)
{
    Py_buffer view;
    if (PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE) < 0)
        return -1;
    int ok = view.len == (Py_ssize_t)(item * (size_t)n);
    if (ok && n)
        memcpy(dst, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    if (!ok)
        PyErr_SetString(PyExc_ValueError, "a column of the wrong length");
    return ok ? 0 : -1;
}

static int
read_bytes(PyObject *buf, uint8_t *dst, int n)
{
    Py_buffer view;
    if (PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE) < 0)
        return -1;
    int ok = view.len == n;
    if (ok && n) /* an empty dictionary has no columns yet (NULL) */
        memcpy(dst, view.buf, (size_t)n);
    PyBuffer_Release(&view);
    if (!ok)
        PyErr_SetString(PyExc_ValueError, "a column of the wrong length");
    return ok ? 0 : -1;
}

static PyObject *
core_load(Core *c, PyObject *args)
{
    PyObject *lo, *group, *lefts, *right, *total, *hits, *act, *zero, *rank;
    double hi;
    int predicted;
    long long clock;
    if (!PyArg_ParseTuple(args, "OdOiLOOOOOOO", &lo, &hi, &group, &predicted, &clock, &lefts, &right, &total, &hits,
                          &act, &zero, &rank))
        return NULL;
    if (!PyList_Check(lefts) || PyList_GET_SIZE(lefts) > c->cap || predicted < 0 || predicted > 255) {
        PyErr_SetString(PyExc_ValueError, "the state does not fit");
        return NULL;
    }
    int n = (int)PyList_GET_SIZE(lefts);
    while (c->alloc < n)
        if (grow(c) < 0)
            return NULL;
    if (read_left(group, c->k, c->cap, &c->group) < 0)
        return NULL;
    c->n = 0;
    c->pool_len = 0;
    for (int s = 0; s < n; s++) {
        Left l;
        c->l_n[s] = 0;
        c->n = s + 1;
        if (read_left(PyList_GET_ITEM(lefts, s), c->k, c->cap, &l) < 0 || set_left(c, s, &l) < 0)
            return NULL;
    }
    if (read_bytes(right, c->right, n) < 0 || read_bytes(zero, c->zero, n) < 0 || read_column(total, c->total, 2, n) < 0 ||
        read_column(hits, c->hits, 2, n) < 0 || read_column(act, c->act, 2, n) < 0 || read_column(rank, c->rank, 4, n) < 0)
        return NULL;
    c->n = n;
    c->has_lo = lo != Py_None;
    c->lo = c->has_lo ? PyFloat_AsDouble(lo) : 0.0;
    if (PyErr_Occurred())
        return NULL;
    c->hi = hi;
    c->predicted = (uint8_t)predicted;
    c->clock = clock;
    Py_RETURN_NONE;
}

static PyObject *
left_tuple(uint8_t sens, const uint16_t *neu, int n)
{
    PyObject *slots = PyTuple_New(n);
    if (slots == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(neu[i]);
        if (v == NULL) {
            Py_DECREF(slots);
            return NULL;
        }
        PyTuple_SET_ITEM(slots, i, v);
    }
    return Py_BuildValue("(iN)", (int)sens, slots);
}

static PyObject *
core_dump(Core *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *lefts = PyList_New(c->n);
    if (lefts == NULL)
        return NULL;
    const uint16_t *a = c->pool;
    for (int s = 0; s < c->n; a += c->l_n[s], s++) {
        PyObject *t = left_tuple(c->l_sens[s], a, c->l_n[s]);
        if (t == NULL) {
            Py_DECREF(lefts);
            return NULL;
        }
        PyList_SET_ITEM(lefts, s, t);
    }
    PyObject *group = left_tuple(c->group.sens, c->group.neu, c->group.n);
    if (group == NULL) {
        Py_DECREF(lefts);
        return NULL;
    }
    size_t n = (size_t)c->n;
    static const char none[1] = "";
#define COL(p) ((p) != NULL ? (const char *)(p) : none) /* y# makes None of a NULL pointer */
    PyObject *lo = c->has_lo ? PyFloat_FromDouble(c->lo) : Py_NewRef(Py_None);
    return Py_BuildValue("(NdNiLNy#y#y#y#y#y#)", lo, c->hi, group, (int)c->predicted, (long long)c->clock, lefts,
                         COL(c->right), (Py_ssize_t)n, COL(c->total), (Py_ssize_t)(n * 2), COL(c->hits),
                         (Py_ssize_t)(n * 2), COL(c->act), (Py_ssize_t)(n * 2), COL(c->zero), (Py_ssize_t)n,
                         COL(c->rank), (Py_ssize_t)(n * 4));
#undef COL
}

static PyObject *
core_sizeof(Core *c, PyObject *Py_UNUSED(ignored))
{
    size_t per = 4 + 3 * 2 + 4; /* four bytes, three counts, the rank */
    return PyLong_FromSize_t(sizeof(Core) + per * (size_t)c->alloc + sizeof(uint16_t) * c->pool_cap);
}

static PyMethodDef core_methods[] = {
    {"raw", (PyCFunction)core_raw, METH_O, "raw(value): the raw score of value (then learned), as Cadose._raw_python."},
    {"load", (PyCFunction)core_load, METH_VARARGS,
     "load(lo, hi, group, predicted, clock, lefts, right, total, hits, act, zero, rank): take a state."},
    {"dump", (PyCFunction)core_dump, METH_NOARGS, "dump(): the state, as load takes it (columns as bytes)."},
    {"__sizeof__", (PyCFunction)core_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ben_cli.detect._cadose.Core",
    .tp_doc = "One series' cadose dictionary, stepped in C.",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)core_init,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_methods = core_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ben_cli.detect._cadose",
    .m_doc = "cadose's step, compiled; ben_cli.detect.cadose holds its definition in Python.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__cadose(void)
{
    for (int v = 0; v < 256; v++)
        POPCOUNT[v] = (uint8_t)((v & 1) + ((v >> 1) & 1) + ((v >> 2) & 1) + ((v >> 3) & 1) + ((v >> 4) & 1) +
                                ((v >> 5) & 1) + ((v >> 6) & 1) + ((v >> 7) & 1));
    if (PyType_Ready(&CoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
