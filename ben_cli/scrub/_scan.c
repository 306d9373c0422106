/* Finders of ben_cli/scrub/entities.py, compiled.
 *
 * The Python patterns stay the definition; each function here gives exactly what iterating its
 * pattern gives, and a property test compares them on random text.
 *
 * ipv4_spans(text) is [m.span() for m in entities._IPV4.finditer(text)], the pattern being
 *
 *     (?=\d{1,3}\.)(?<![A-Za-z0-9_.])(?:(?:OCTET)\.){3}(?:OCTET)(?:/(?:3[0-2]|[12]?\d)(?!\d))?
 *     (?![A-Za-z0-9_]|\.\d|-\w)            with OCTET = 25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d
 *
 * under re.ASCII (\d is 0-9, \w is A-Za-z0-9_). The leading lookahead is implied by the rest. At
 * each start the engine tries, depth first, the octet alternatives in their order: the one
 * three-digit alternative that fits (they exclude each other), then [1-9]\d, then \d; after the
 * fourth octet the optional network suffix first with it (3[0-2], then [12]\d, then \d, each not
 * followed by a digit) and then without it; the first choice the final lookahead accepts is the
 * match. The next search starts where a match ends, or one character on when none starts here.
 *
 * Speed: one pass over the characters with PyUnicode_READ; a start needs a digit, so every other
 * character costs one comparison (the regex engine runs a lookahead there).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Text;

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) { return i < t->n ? PyUnicode_READ(t->kind, t->data, i) : 0; }
static inline int is_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
static inline int is_word(Py_UCS4 c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

/* (?![A-Za-z0-9_]|\.\d|-\w) at i */
static int tail_ok(const Text *t, Py_ssize_t i)
{
    Py_UCS4 c = at(t, i);
    if (is_word(c))
        return 0;
    if (c == '.' && is_digit(at(t, i + 1)))
        return 0;
    if (c == '-' && is_word(at(t, i + 1)))
        return 0;
    return 1;
}

/* After the fourth octet (ending at r): the network suffix, then the final lookahead. */
static Py_ssize_t finish(const Text *t, Py_ssize_t r)
{
    if (at(t, r) == '/') {
        Py_UCS4 a = at(t, r + 1), b = at(t, r + 2);
        if (a == '3' && b >= '0' && b <= '2' && !is_digit(at(t, r + 3)) && tail_ok(t, r + 3))
            return r + 3;
        if ((a == '1' || a == '2') && is_digit(b) && !is_digit(at(t, r + 3)) && tail_ok(t, r + 3))
            return r + 3;
        if (is_digit(a) && !is_digit(b) && tail_ok(t, r + 2))
            return r + 2;
    }
    return tail_ok(t, r) ? r : -1;
}

/* Octet number k (0-3) from q, every alternative in the regex's order; the match's end or -1. */
static Py_ssize_t octets(const Text *t, Py_ssize_t q, int k)
{
    Py_UCS4 a = at(t, q), b = at(t, q + 1), c = at(t, q + 2);
    Py_ssize_t lens[3];
    int n = 0;
    if ((a == '2' && b == '5' && c >= '0' && c <= '5') || (a == '2' && b >= '0' && b <= '4' && is_digit(c))
        || (a == '1' && is_digit(b) && is_digit(c)))
        lens[n++] = 3;
    if (a >= '1' && a <= '9' && is_digit(b))
        lens[n++] = 2;
    if (is_digit(a))
        lens[n++] = 1;
    for (int i = 0; i < n; i++) {
        Py_ssize_t e = q + lens[i];
        Py_ssize_t r;
        if (k < 3) {
            if (at(t, e) != '.')
                continue;
            r = octets(t, e + 1, k + 1);
        }
        else
            r = finish(t, e);
        if (r >= 0)
            return r;
    }
    return -1;
}

PyDoc_STRVAR(ipv4_spans_doc, "ipv4_spans(text) -> [(start, end), ...]: what entities._IPV4.finditer(text) finds.");

static PyObject *
ipv4_spans(PyObject *Py_UNUSED(self), PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "ipv4_spans() needs a str");
        return NULL;
    }
    Text t = {PyUnicode_KIND(arg), PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t p = 0;
    while (p < t.n) {
        Py_UCS4 c = PyUnicode_READ(t.kind, t.data, p);
        Py_ssize_t e = -1;
        if (is_digit(c)) {
            Py_UCS4 before = p ? PyUnicode_READ(t.kind, t.data, p - 1) : 0;
            if (!(is_word(before) || before == '.'))
                e = octets(&t, p, 0);
        }
        if (e < 0) {
            p++;
            continue;
        }
        PyObject *span = Py_BuildValue("(nn)", p, e);
        if (span == NULL || PyList_Append(out, span) < 0) {
            Py_XDECREF(span);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(span);
        p = e;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"ipv4_spans", ipv4_spans, METH_O, ipv4_spans_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ben_cli.scrub._scan",
    .m_doc = "Compiled finders; ben_cli.scrub.entities holds their definitions in Python.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModule_Create(&module);
}
