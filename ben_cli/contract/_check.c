/* The contract's per-record check, compiled: what ben_cli/contract/pycode.py generates in Python,
 * interpreted here from a table, so that ben ingest --contract pays less per record.
 *
 * pycode.py is the definition; ben_cli/contract/fast.py builds the table (one "spec" per kind) and
 * a test holds this module to the Python validator on generated contracts and records.
 *
 *   check(rec, spec, out) -> None      appends (rule, field, value, line) tuples to the list out
 *   seen(rec, limits, minute) -> bool  the cardinality guard's common case (see below)
 *
 * spec:  (signed_line, fields, attrs, attrs_line, closed_keys, closed_line); a line of -1: no such rule
 *        fields and attrs are tuples of rules; attrs is None when the kind has no attrs block;
 *        closed_keys is a frozenset, or None when attrs are open; signed_line 0: not signed.
 * rule:  (key, path, tcode, required_line, type_line, deprecated_line, low, high, range_line,
 *         maxlen, maxlen_line, pattern, pattern_line, enum, helper, unit, unit_line)
 *        pattern is None, a callable (a compiled regex's search), or a shape
 *        (prefix, classbits, min, max, anchored, search): ASCII strings are matched here,
 *        others by search. helper is _is_ip (ip) or the duration pattern's search (duration).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

enum { T_STRING, T_INT, T_FLOAT, T_BOOL, T_TIME, T_IP, T_DURATION, T_ENUM_STR, T_ENUM_ANY };

static PyObject *k_ts, *s_type, *s_enum, *s_required, *s_range, *s_maxlen, *s_pattern, *s_unit, *s_closed,
    *s_signed, *s_deprecated, *k_sig, *k_attrs, *k_unit, *p_sig, *p_unit, *p_attrs, *zero;

static int add(PyObject *out, PyObject *rule, PyObject *path, PyObject *value, PyObject *line) {
    PyObject *t = PyTuple_Pack(4, rule, path, value ? value : Py_None, line);
    if (t == NULL)
        return -1;
    int r = PyList_Append(out, t);
    Py_DECREF(t);
    return r;
}

static inline int is_digit(Py_UCS1 c) { return c >= '0' && c <= '9'; }

/* ^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$ */
static int is_time(PyObject *v) {
    if (!PyUnicode_IS_ASCII(v))
        return 0;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(v);
    Py_ssize_t n = PyUnicode_GET_LENGTH(v);
    if (n && s[n - 1] == '\n')
        n--; /* $ matches before a final newline */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 20)
        return 0;
    for (int i = 0; i < 19; i++) {
        char want = shape[i];
        if (want == 'd' ? !is_digit(s[i]) : want == 'T' ? !(s[i] == 'T' || s[i] == 't' || s[i] == ' ') : s[i] != want)
            return 0;
    }
    Py_ssize_t i = 19;
    if (s[i] == '.') {
        Py_ssize_t start = ++i;
        while (i < n && is_digit(s[i]) && i - start < 9)
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z'))
        return i + 1 == n;
    if (i + 6 == n && (s[i] == '+' || s[i] == '-') && is_digit(s[i + 1]) && is_digit(s[i + 2]) && s[i + 3] == ':' &&
        is_digit(s[i + 4]) && is_digit(s[i + 5]))
        return 1;
    return 0;
}

/* 1: the pattern is found in v; 0: not; -1: error. */
static int pattern_found(PyObject *pattern, PyObject *v) {
    if (PyTuple_CheckExact(pattern) && PyUnicode_IS_ASCII(v)) {
        PyObject *prefix = PyTuple_GET_ITEM(pattern, 0), *bits = PyTuple_GET_ITEM(pattern, 1);
        Py_ssize_t lo = PyLong_AsSsize_t(PyTuple_GET_ITEM(pattern, 2));
        Py_ssize_t hi = PyLong_AsSsize_t(PyTuple_GET_ITEM(pattern, 3));
        int anchored = PyObject_IsTrue(PyTuple_GET_ITEM(pattern, 4));
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(v);
        Py_ssize_t n = PyUnicode_GET_LENGTH(v);
        Py_ssize_t np = PyUnicode_GET_LENGTH(prefix);
        if (n < np || memcmp(s, PyUnicode_1BYTE_DATA(prefix), np) != 0)
            return 0;
        if (bits == Py_None)
            return anchored ? (n == np || (n == np + 1 && s[np] == '\n')) : 1;
        const char *cls = PyBytes_AS_STRING(bits); /* 128 bytes: 1 where an ASCII character is in the class */
        Py_ssize_t count = 0;
        while (np + count < n && cls[s[np + count]])
            count++;
        if (!anchored)
            return count >= lo;
        Py_ssize_t rest = n - np;
        if (count != rest && !(count == rest - 1 && s[n - 1] == '\n'))
            return 0;
        return count >= lo && (hi < 0 || count <= hi);
    }
    PyObject *search = PyTuple_CheckExact(pattern) ? PyTuple_GET_ITEM(pattern, 5) : pattern;
    PyObject *m = PyObject_CallOneArg(search, v);
    if (m == NULL)
        return -1;
    int found = m != Py_None;
    Py_DECREF(m);
    return found;
}

/* 1: v has the rule's type; 0: not; -1: error. */
static int has_type(PyObject *rule, int tcode, PyObject *v) {
    switch (tcode) {
    case T_STRING:
        return PyUnicode_CheckExact(v);
    case T_INT: /* type(v) is int or (type(v) is float and v.is_integer()) */
        return PyLong_CheckExact(v) ||
               (PyFloat_CheckExact(v) && isfinite(PyFloat_AS_DOUBLE(v)) && floor(PyFloat_AS_DOUBLE(v)) == PyFloat_AS_DOUBLE(v));
    case T_FLOAT:
        return PyLong_CheckExact(v) || PyFloat_CheckExact(v);
    case T_BOOL:
        return PyBool_Check(v);
    case T_TIME:
        return PyUnicode_CheckExact(v) && is_time(v);
    case T_IP: {
        if (!PyUnicode_CheckExact(v))
            return 0;
        PyObject *r = PyObject_CallOneArg(PyTuple_GET_ITEM(rule, 14), v);
        if (r == NULL)
            return -1;
        int ok = PyObject_IsTrue(r);
        Py_DECREF(r);
        return ok;
    }
    case T_DURATION:
        if (PyLong_CheckExact(v) || PyFloat_CheckExact(v))
            return PyObject_RichCompareBool(v, zero, Py_GE);
        if (!PyUnicode_CheckExact(v))
            return 0;
        return pattern_found(PyTuple_GET_ITEM(rule, 14), v);
    case T_ENUM_STR:
        return PyUnicode_CheckExact(v) ? PySet_Contains(PyTuple_GET_ITEM(rule, 13), v) : 0;
    default: /* T_ENUM_ANY */
        if (!(PyUnicode_CheckExact(v) || PyLong_CheckExact(v) || PyFloat_CheckExact(v)))
            return 0;
        return PySet_Contains(PyTuple_GET_ITEM(rule, 13), v);
    }
}

static int check_rule(PyObject *rule, PyObject *v, PyObject *out) {
    PyObject *path = PyTuple_GET_ITEM(rule, 1);
    int tcode = (int)PyLong_AsLong(PyTuple_GET_ITEM(rule, 2));
    if (v == NULL) {
        if (PyLong_AsLong(PyTuple_GET_ITEM(rule, 3)) >= 0)
            return add(out, s_required, path, NULL, PyTuple_GET_ITEM(rule, 3));
        return 0;
    }
    if (PyLong_AsLong(PyTuple_GET_ITEM(rule, 5)) >= 0 && add(out, s_deprecated, path, v, PyTuple_GET_ITEM(rule, 5)))
        return -1;
    int ok = has_type(rule, tcode, v);
    if (ok < 0)
        return -1;
    if (!ok)
        return add(out, tcode >= T_ENUM_STR ? s_enum : s_type, path, v, PyTuple_GET_ITEM(rule, 4));
    PyObject *low = PyTuple_GET_ITEM(rule, 6), *high = PyTuple_GET_ITEM(rule, 7);
    if (PyLong_AsLong(PyTuple_GET_ITEM(rule, 8)) >= 0) {
        int in = 1;
        if (low != Py_None && (in = PyObject_RichCompareBool(low, v, Py_LE)) < 0)
            return -1;
        if (in && high != Py_None && (in = PyObject_RichCompareBool(v, high, Py_LE)) < 0)
            return -1;
        if (!in && add(out, s_range, path, v, PyTuple_GET_ITEM(rule, 8)))
            return -1;
    }
    Py_ssize_t maxlen = PyLong_AsSsize_t(PyTuple_GET_ITEM(rule, 9));
    if (maxlen >= 0 && PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) > maxlen && add(out, s_maxlen, path, v, PyTuple_GET_ITEM(rule, 10)))
        return -1;
    PyObject *pattern = PyTuple_GET_ITEM(rule, 11);
    if (pattern != Py_None && PyUnicode_CheckExact(v)) {
        int found = pattern_found(pattern, v);
        if (found < 0)
            return -1;
        if (!found && add(out, s_pattern, path, v, PyTuple_GET_ITEM(rule, 12)))
            return -1;
    }
    return 0;
}

static PyObject *check(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyTuple_CheckExact(args[1]) || !PyList_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "check(rec: dict, spec: tuple, out: list)");
        return NULL;
    }
    PyObject *rec = args[0], *spec = args[1], *out = args[2];
    PyObject *signed_line = PyTuple_GET_ITEM(spec, 0);
    if (PyLong_AsLong(signed_line) >= 0) {
        PyObject *sig = PyDict_GetItemWithError(rec, k_sig);
        if (sig == NULL && PyErr_Occurred())
            return NULL;
        if (sig == NULL && add(out, s_signed, p_sig, NULL, signed_line))
            return NULL;
    }
    PyObject *fields = PyTuple_GET_ITEM(spec, 1);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
        PyObject *rule = PyTuple_GET_ITEM(fields, i);
        PyObject *v = PyDict_GetItemWithError(rec, PyTuple_GET_ITEM(rule, 0));
        if (v == NULL && PyErr_Occurred())
            return NULL;
        if (check_rule(rule, v, out))
            return NULL;
        PyObject *unit = PyTuple_GET_ITEM(rule, 15);
        if (unit != Py_None) {
            PyObject *u = PyDict_GetItemWithError(rec, k_unit);
            if (u == NULL && PyErr_Occurred())
                return NULL;
            if (u != NULL) {
                int ne = PyObject_RichCompareBool(u, unit, Py_NE);
                if (ne < 0 || (ne && add(out, s_unit, p_unit, u, PyTuple_GET_ITEM(rule, 16))))
                    return NULL;
            }
        }
    }
    PyObject *attr_rules = PyTuple_GET_ITEM(spec, 2);
    if (attr_rules == Py_None)
        Py_RETURN_NONE;
    PyObject *attrs = PyDict_GetItemWithError(rec, k_attrs);
    if (attrs == NULL && PyErr_Occurred())
        return NULL;
    if (attrs != NULL && !PyDict_CheckExact(attrs)) {
        if (add(out, s_type, p_attrs, attrs, PyTuple_GET_ITEM(spec, 3)))
            return NULL;
        attrs = NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(attr_rules); i++) {
        PyObject *rule = PyTuple_GET_ITEM(attr_rules, i);
        PyObject *v = attrs ? PyDict_GetItemWithError(attrs, PyTuple_GET_ITEM(rule, 0)) : NULL;
        if (v == NULL && PyErr_Occurred())
            return NULL;
        if (check_rule(rule, v, out))
            return NULL;
    }
    PyObject *closed = PyTuple_GET_ITEM(spec, 4);
    if (closed != Py_None && attrs != NULL) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(attrs, &pos, &k, &v)) {
            int in = PySet_Contains(closed, k);
            if (in < 0)
                return NULL;
            if (!in) {
                PyObject *path = PyUnicode_FromFormat("attrs.%U", k);
                if (path == NULL)
                    return NULL;
                int r = add(out, s_closed, path, v, PyTuple_GET_ITEM(spec, 5));
                Py_DECREF(path);
                if (r)
                    return NULL;
            }
        }
    }
    Py_RETURN_NONE;
}

/* The cardinality guard's common case: every limited value of rec already seen in the window that
 * is open, in the minute the guard last brought its windows up to (a string ending in Z).
 *   seen(rec, limits, minute) -> bool    limits: tuple of (key, set of seen values)
 * False sends the record to the guard's Python code, which counts it. */
static PyObject *seen(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyDict_Check(args[0]) || !PyTuple_CheckExact(args[1]) || !PyUnicode_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "seen(rec: dict, limits: tuple, minute: str)");
        return NULL;
    }
    PyObject *attrs = PyDict_GetItemWithError(args[0], k_attrs);
    if (attrs == NULL || !PyDict_CheckExact(attrs)) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_TRUE; /* nothing to count */
    }
    PyObject *ts = PyDict_GetItemWithError(args[0], k_ts);
    if (ts == NULL || !PyUnicode_CheckExact(ts) || !PyUnicode_IS_ASCII(ts) || !PyUnicode_IS_ASCII(args[2])) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_FALSE;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(ts);
    const Py_UCS1 *t = PyUnicode_1BYTE_DATA(ts);
    if (PyUnicode_GET_LENGTH(args[2]) != 16 || n < 16 || t[n - 1] != 'Z' || memcmp(t, PyUnicode_1BYTE_DATA(args[2]), 16) != 0)
        Py_RETURN_FALSE;
    PyObject *limits = args[1];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(limits); i++) {
        PyObject *limit = PyTuple_GET_ITEM(limits, i);
        PyObject *v = PyDict_GetItemWithError(attrs, PyTuple_GET_ITEM(limit, 0));
        if (v == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        if (v == Py_None)
            continue;
        if (!PyUnicode_CheckExact(v))
            Py_RETURN_FALSE;
        int in = PySet_Contains(PyTuple_GET_ITEM(limit, 1), v);
        if (in < 0)
            return NULL;
        if (!in)
            Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"seen", (PyCFunction)(void (*)(void))seen, METH_FASTCALL, "seen(rec, limits, minute): every limited value already counted."},
    {"check", (PyCFunction)(void (*)(void))check, METH_FASTCALL, "check(rec, spec, out): append rec's violations to out."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_check", NULL, -1, methods};

PyMODINIT_FUNC PyInit__check(void) {
    const char *names[] = {"type", "enum", "required", "range", "maxlen", "pattern", "unit", "closed", "signed",
                           "deprecated", "sig", "attrs", "unit", "sig", "unit", "attrs", "ts"};
    PyObject **slots[] = {&s_type, &s_enum, &s_required, &s_range, &s_maxlen, &s_pattern, &s_unit, &s_closed,
                          &s_signed, &s_deprecated, &k_sig, &k_attrs, &k_unit, &p_sig, &p_unit, &p_attrs, &k_ts};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        *slots[i] = PyUnicode_InternFromString(names[i]);
        if (*slots[i] == NULL)
            return NULL;
    }
    zero = PyLong_FromLong(0);
    if (zero == NULL)
        return NULL;
    return PyModule_Create(&module);
}
