/* The common record straight to its JSONEachRow line: a compiled fast path for the HTTP target.
 *
 * ben_cli/sink/rows.py is the definition: RowBuilder.row turns a record into a row and json_line
 * turns the row into the line. This module does both at once for the record that needs no
 * judgement -- a canonical ts, string lane/source/name, a value a Float64 holds exactly, string
 * unit/severity/body, attrs whose values are strings or 64-bit integers, a list of strings for
 * redacted, no anomaly -- and declines (returns None) anything else, which the Python code then
 * converts. Fields the table has no column for go into `extra` as the Python code puts them
 * (the JSON text of an object of them, as orjson.dumps writes it but for the spelling of floats).
 *
 *   append(body, rec, legacy, batch_id, batch_row, seconds, canonical_ns) -> int | None
 *
 * appends the line (ending in "\n") to the bytearray `body` and returns the row's ts in
 * nanoseconds, or returns None and leaves `body` as it was. `seconds` is the builder's cache of
 * whole-second prefixes ("YYYY-MM-DDTHH:MM:SS" -> epoch seconds) and `canonical_ns` its method
 * that fills the cache (and says whether a time is canonical) on a miss.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define MAX_EXACT_INT (1LL << 53)
#define DECLINE 1 /* not the common record: the Python code converts it */
#define FAIL (-1) /* a Python error is set */

static PyObject *k_ts, *k_lane, *k_source, *k_name, *k_value, *k_unit, *k_severity, *k_body, *k_attrs,
    *k_anomaly, *k_redacted, *known;

/* A growing output buffer: on the stack for the usual line, on the heap beyond. */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
    char stack[2048];
} Buf;

static int grow(Buf *b, Py_ssize_t need) {
    if (b->len + need <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap * 2;
    if (cap < b->len + need)
        cap = b->len + need;
    char *p = b->p == b->stack ? PyMem_Malloc(cap) : PyMem_Realloc(b->p, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return FAIL;
    }
    if (b->p == b->stack)
        memcpy(p, b->stack, b->len);
    b->p = p;
    b->cap = cap;
    return 0;
}

static int put(Buf *b, const char *s, Py_ssize_t n) {
    if (grow(b, n))
        return FAIL;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

#define PUT(b, lit) put((b), (lit), (Py_ssize_t)sizeof(lit) - 1)

/* UTF-8 text as a JSON string, escaped as orjson escapes it. */
static int put_utf8(Buf *b, const char *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    if (grow(b, n * 6 + 2)) /* the worst case: every byte a \u00XX */
        return FAIL;
    char *o = b->p + b->len;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t run = i;
        while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) { /* plain bytes, copied as they are */
            memcpy(o, s + i, run - i);
            o += run - i;
            i = run;
            if (i == n)
                break;
        }
        unsigned char c = (unsigned char)s[i];
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u'; *o++ = '0'; *o++ = '0';
            *o++ = hex[c >> 4]; *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = o - b->p;
    return 0;
}

/* A str as a JSON string; DECLINE when it has no UTF-8 form (a lone surrogate). */
static int put_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) {
        PyErr_Clear();
        return DECLINE;
    }
    return put_utf8(b, u, n);
}

/* Decimal digits of v, written backwards ending at `end`; returns where they start. */
static char *digits(char *end, long long v) {
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

static int put_i64(Buf *b, long long v) {
    char tmp[24], *start = digits(tmp + sizeof tmp, v);
    return put(b, start, tmp + sizeof tmp - start);
}

/* An int that fits in 64 bits, as *out; DECLINE for a larger one. */
static int as_i64(PyObject *v, long long *out) {
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow)
        return DECLINE;
    if (*out == -1 && PyErr_Occurred())
        return FAIL;
    return 0;
}

/* The value column: null when absent, the number when a Float64 holds it exactly, else DECLINE. */
static int put_value(Buf *b, PyObject *v) {
    double d;
    if (v == NULL)
        return PUT(b, "null");
    if (PyFloat_CheckExact(v)) {
        d = PyFloat_AS_DOUBLE(v);
    } else if (PyLong_CheckExact(v)) {
        long long i;
        int r = as_i64(v, &i);
        if (r)
            return r;
        if (i < -MAX_EXACT_INT || i > MAX_EXACT_INT)
            return DECLINE;
        d = (double)i;
    } else {
        return DECLINE;
    }
    if (!isfinite(d))
        return DECLINE;
    char *text = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL)
        return FAIL;
    int r = put(b, text, (Py_ssize_t)strlen(text));
    PyMem_Free(text);
    return r;
}

/* unit, severity, body: null when absent, the string, else DECLINE (null or any other JSON). */
static int put_opt_str(Buf *b, PyObject *v) {
    if (v == NULL)
        return PUT(b, "null");
    if (!PyUnicode_CheckExact(v))
        return DECLINE;
    return put_str(b, v);
}

/* lane, source, name: "" when absent, the string, else DECLINE. */
static int put_key_str(Buf *b, PyObject *v) {
    if (v == NULL)
        return PUT(b, "\"\"");
    if (!PyUnicode_CheckExact(v))
        return DECLINE;
    return put_str(b, v);
}

static PyObject *get(PyObject *rec, PyObject *key, int *err) {
    PyObject *v = PyDict_GetItemWithError(rec, key);
    if (v == NULL && PyErr_Occurred())
        *err = 1;
    return v;
}

/* The record's ts in ns when it is a canonical envelope time the table's ts column holds. */
static int ts_of(PyObject *ts, int legacy, PyObject *seconds, PyObject *canonical_ns, long long *out) {
    if (ts == NULL || !PyUnicode_CheckExact(ts) || !PyUnicode_IS_ASCII(ts))
        return DECLINE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(ts);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(ts);
    long long scale;
    switch (n - 19) { /* "Z", ".fffZ", ".ffffffZ", ".fffffffffZ" */
    case 1: scale = 0; break;
    case 5: scale = 1000000; break;
    case 8: scale = 1000; break;
    case 11: scale = 1; break;
    default: return DECLINE;
    }
    if (s[n - 1] != 'Z')
        return DECLINE;
    long long frac = 0;
    if (scale) {
        if (s[19] != '.')
            return DECLINE;
        for (Py_ssize_t i = 20; i < n - 1; i++) {
            if (s[i] < '0' || s[i] > '9')
                return DECLINE;
            frac = frac * 10 + (s[i] - '0');
        }
        frac *= scale;
    }
    PyObject *head = PyUnicode_Substring(ts, 0, 19);
    if (head == NULL)
        return FAIL;
    PyObject *secs = PyDict_GetItemWithError(seconds, head); /* borrowed */
    Py_DECREF(head);
    long long sec;
    if (secs != NULL) {
        if (!PyLong_CheckExact(secs))
            return DECLINE;
        int r = as_i64(secs, &sec);
        if (r)
            return r;
    } else {
        if (PyErr_Occurred())
            return FAIL;
        /* a new second: the builder works it out (and caches it), or says it is not canonical */
        PyObject *ns = PyObject_CallOneArg(canonical_ns, ts);
        if (ns == NULL) { /* a time it refuses (29 February of 2026) is the Python code's to report */
            if (!PyErr_ExceptionMatches(PyExc_Exception))
                return FAIL;
            PyErr_Clear();
            return DECLINE;
        }
        if (!PyLong_CheckExact(ns)) {
            Py_DECREF(ns);
            return DECLINE;
        }
        long long whole;
        int r = as_i64(ns, &whole);
        Py_DECREF(ns);
        if (r)
            return r;
        if (whole < 0) /* floor division, as the cache holds it */
            sec = -((-whole + NS_PER_S - 1) / NS_PER_S);
        else
            sec = whole / NS_PER_S;
    }
    /* legacy: DateTime (UInt32 seconds); modern: Int64 ns (kept clear of its ends) */
    if (legacy ? (sec < 0 || sec > 4294967295LL) : (sec < -9223372035LL || sec > 9223372035LL))
        return DECLINE;
    *out = sec * NS_PER_S + frac;
    return 0;
}

/* An attrs value as the column's string: a str as it is, an int as its decimal text (its key then
 * listed in `typed`, so that it reads back as a number); DECLINE for anything else. */
static int put_attr_value(Buf *b, PyObject *k, PyObject *v, Buf *typed, int *ntyped) {
    if (PyUnicode_CheckExact(v))
        return put_str(b, v);
    if (!PyLong_CheckExact(v))
        return DECLINE;
    long long i;
    int r = as_i64(v, &i);
    if (r)
        return r;
    char tmp[24], *start = digits(tmp + sizeof tmp - 1, i);
    tmp[sizeof tmp - 1] = '"';
    *--start = '"';
    if ((r = put(b, start, tmp + sizeof tmp - start)) || (*ntyped && (r = PUT(typed, ","))))
        return r;
    ++*ntyped;
    return put_str(typed, k);
}

/* attrs: the key and value arrays (legacy) or the map (modern), and which keys held integers. */
static int put_attrs(Buf *b, PyObject *attrs, int legacy, Buf *typed, int *ntyped) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int r, first = 1;
    if (legacy) {
        /* keys first, values after: the values go into a second buffer while the keys are written */
        Buf vals = {.p = NULL, .len = 0, .cap = sizeof vals.stack};
        vals.p = vals.stack;
        r = PUT(b, "\"attrs.key\":[");
        if (!r)
            r = PUT(&vals, "\"attrs.value\":[");
        while (!r && PyDict_Next(attrs, &pos, &k, &v)) {
            if (!PyUnicode_CheckExact(k)) {
                r = DECLINE;
                break;
            }
            if (!first && ((r = PUT(b, ",")) || (r = PUT(&vals, ","))))
                break;
            if ((r = put_str(b, k)))
                break;
            r = put_attr_value(&vals, k, v, typed, ntyped);
            first = 0;
        }
        if (!r && !(r = PUT(b, "],")) && !(r = PUT(&vals, "]")))
            r = put(b, vals.p, vals.len);
        if (vals.p != vals.stack)
            PyMem_Free(vals.p);
        return r;
    }
    if ((r = PUT(b, "\"attrs\":{")))
        return r;
    while (PyDict_Next(attrs, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k))
            return DECLINE;
        if (!first && (r = PUT(b, ",")))
            return r;
        if ((r = put_str(b, k)) || (r = PUT(b, ":")))
            return r;
        if ((r = put_attr_value(b, k, v, typed, ntyped)))
            return r;
        first = 0;
    }
    return PUT(b, "}");
}

/* Any value orjson.loads makes (objects with str keys, arrays, str, 64-bit int, finite float, true,
 * false, null) as JSON; DECLINE for anything else, or nesting deeper than a record needs. */
static int put_json(Buf *b, PyObject *v, int depth) {
    int r;
    if (depth > 32)
        return DECLINE;
    if (PyUnicode_CheckExact(v))
        return put_str(b, v);
    if (v == Py_None)
        return PUT(b, "null");
    if (v == Py_True)
        return PUT(b, "true");
    if (v == Py_False)
        return PUT(b, "false");
    if (PyLong_CheckExact(v)) {
        long long i;
        if ((r = as_i64(v, &i)))
            return r;
        return put_i64(b, i);
    }
    if (PyFloat_CheckExact(v))
        return put_value(b, v);
    if (PyList_CheckExact(v)) {
        if ((r = PUT(b, "[")))
            return r;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++)
            if ((i && (r = PUT(b, ","))) || (r = put_json(b, PyList_GET_ITEM(v, i), depth + 1)))
                return r;
        return PUT(b, "]");
    }
    if (PyDict_CheckExact(v)) {
        Py_ssize_t pos = 0;
        PyObject *k, *x;
        if ((r = PUT(b, "{")))
            return r;
        for (int first = 1; PyDict_Next(v, &pos, &k, &x); first = 0)
            if (!PyUnicode_CheckExact(k) || (!first && (r = PUT(b, ","))) || (r = put_str(b, k)) ||
                (r = PUT(b, ":")) || (r = put_json(b, x, depth + 1)))
                return r ? r : DECLINE;
        return PUT(b, "}");
    }
    return DECLINE;
}

/* extra: the fields the table has no column for, as the JSON text of an object ("" for none). */
static int put_extra(Buf *b, PyObject *rec) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int r = 0, any = 0;
    Buf text = {.p = NULL, .len = 0, .cap = sizeof text.stack};
    text.p = text.stack;
    while (!r && PyDict_Next(rec, &pos, &k, &v)) {
        int is_known = PySet_Contains(known, k);
        if (is_known)
            r = is_known < 0 ? FAIL : 0;
        else if (!PyUnicode_CheckExact(k))
            r = DECLINE;
        else if (!(r = put(&text, any ? "," : "{", 1)) && !(r = put_str(&text, k)) && !(r = PUT(&text, ":")))
            r = put_json(&text, v, 1), any = 1;
    }
    if (!r)
        r = any ? (PUT(&text, "}") || put_utf8(b, text.p, text.len) ? FAIL : 0) : PUT(b, "\"\"");
    if (text.p != text.stack)
        PyMem_Free(text.p);
    return r;
}

static int put_redacted(Buf *b, PyObject *red) {
    if (red == NULL)
        return PUT(b, "[]");
    if (!PyList_CheckExact(red) || PyList_GET_SIZE(red) == 0)
        return DECLINE;
    int r = PUT(b, "[");
    for (Py_ssize_t i = 0; !r && i < PyList_GET_SIZE(red); i++) {
        PyObject *s = PyList_GET_ITEM(red, i);
        if (!PyUnicode_CheckExact(s))
            return DECLINE;
        if (i && (r = PUT(b, ",")))
            break;
        r = put_str(b, s);
    }
    return r ? r : PUT(b, "]");
}

/* The whole line into b; 0, DECLINE or FAIL. */
static int build(Buf *b, PyObject *rec, int legacy, PyObject *batch_id, long long batch_row, PyObject *seconds,
                 PyObject *canonical_ns, long long *ts_ns) {
    int err = 0, r;
    PyObject *ts = get(rec, k_ts, &err), *lane = get(rec, k_lane, &err), *source = get(rec, k_source, &err),
             *name = get(rec, k_name, &err), *value = get(rec, k_value, &err), *unit = get(rec, k_unit, &err),
             *severity = get(rec, k_severity, &err), *body = get(rec, k_body, &err),
             *attrs = get(rec, k_attrs, &err), *anomaly = get(rec, k_anomaly, &err),
             *redacted = get(rec, k_redacted, &err);
    if (err)
        return FAIL;
    if (anomaly != NULL)
        return DECLINE;
    if (attrs != NULL && (!PyDict_CheckExact(attrs) || PyDict_GET_SIZE(attrs) == 0))
        return DECLINE;
    if ((r = ts_of(ts, legacy, seconds, canonical_ns, ts_ns)))
        return r;

    Buf typed = {.p = NULL, .len = 0, .cap = sizeof typed.stack};
    typed.p = typed.stack;
    Buf at = {.p = NULL, .len = 0, .cap = sizeof at.stack};
    at.p = at.stack;
    int ntyped = 0;
    long long secs = *ts_ns / NS_PER_S, ns = *ts_ns % NS_PER_S;
    if (ns < 0) {
        secs -= 1;
        ns += NS_PER_S;
    }
    if (!legacy && secs < 0) { /* DateTime64 wants the text form before 1970: the Python code writes it */
        r = DECLINE;
        goto done;
    }
    if ((r = PUT(b, "{\"lane\":")) || (r = put_key_str(b, lane)) ||
        (r = PUT(b, ",\"source\":")) || (r = put_key_str(b, source)) ||
        (r = PUT(b, ",\"name\":")) || (r = put_key_str(b, name)) ||
        (r = PUT(b, ",\"value\":")) || (r = put_value(b, value)) ||
        (r = PUT(b, ",\"unit\":")) || (r = put_opt_str(b, unit)) ||
        (r = PUT(b, ",\"severity\":")) || (r = put_opt_str(b, severity)) ||
        (r = PUT(b, ",\"body\":")) || (r = put_opt_str(b, body)))
        goto done;
    if (attrs != NULL)
        r = put_attrs(&at, attrs, legacy, &typed, &ntyped);
    else
        r = legacy ? PUT(&at, "\"attrs.key\":[],\"attrs.value\":[]") : PUT(&at, "\"attrs\":{}");
    if (r || (r = PUT(b, ",\"attrs_typed\":[")) || (r = put(b, typed.p, typed.len)) ||
        (r = PUT(b, "],\"anomaly\":\"\",\"is_anomaly\":0,\"anomaly_score\":null,\"anomaly_detector\":\"\","
                    "\"redacted\":")) ||
        (r = put_redacted(b, redacted)) || (r = PUT(b, ",\"extra\":")) || (r = put_extra(b, rec)))
        goto done;
    if (legacy) {
        if ((r = PUT(b, ",\"ts\":")) || (r = put_i64(b, secs)) || (r = PUT(b, ",\"ts_ns\":")) ||
            (r = put_i64(b, ns)))
            goto done;
    } else {
        char tmp[48];
        int n = snprintf(tmp, sizeof tmp, ",\"ts\":\"%lld.%09lld\"", secs, ns);
        if ((r = put(b, tmp, n)))
            goto done;
    }
    if ((r = PUT(b, ",")) || (r = put(b, at.p, at.len)) || (r = PUT(b, ",\"batch_id\":")) ||
        (r = put_str(b, batch_id)) || (r = PUT(b, ",\"batch_row\":")) || (r = put_i64(b, batch_row)))
        goto done;
    r = PUT(b, "}\n");
done:
    if (typed.p != typed.stack)
        PyMem_Free(typed.p);
    if (at.p != at.stack)
        PyMem_Free(at.p);
    return r;
}

static PyObject *append(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "append(body, rec, legacy, batch_id, batch_row, seconds, canonical_ns) takes 7 arguments");
        return NULL;
    }
    PyObject *body = args[0], *rec = args[1], *batch_id = args[3], *seconds = args[5], *canonical_ns = args[6];
    if (!PyByteArray_Check(body) || !PyUnicode_Check(batch_id) || !PyDict_Check(seconds)) {
        PyErr_SetString(PyExc_TypeError, "append: body must be a bytearray, batch_id a str, seconds a dict");
        return NULL;
    }
    int legacy = PyObject_IsTrue(args[2]);
    if (legacy < 0)
        return NULL;
    long long batch_row = PyLong_AsLongLong(args[4]);
    if (batch_row == -1 && PyErr_Occurred())
        return NULL;
    if (!PyDict_CheckExact(rec))
        Py_RETURN_NONE;
    Buf b = {.p = NULL, .len = 0, .cap = sizeof b.stack};
    b.p = b.stack;
    long long ts_ns = 0;
    int r = build(&b, rec, legacy, batch_id, batch_row, seconds, canonical_ns, &ts_ns);
    PyObject *result = NULL;
    if (r == DECLINE) {
        result = Py_NewRef(Py_None);
    } else if (r == 0) {
        Py_ssize_t old = PyByteArray_GET_SIZE(body);
        if (PyByteArray_Resize(body, old + b.len) == 0) {
            memcpy(PyByteArray_AS_STRING(body) + old, b.p, b.len);
            result = PyLong_FromLongLong(ts_ns);
        }
    }
    if (b.p != b.stack)
        PyMem_Free(b.p);
    return result;
}

static PyMethodDef methods[] = {
    {"append", (PyCFunction)(void (*)(void))append, METH_FASTCALL,
     "append(body, rec, legacy, batch_id, batch_row, seconds, canonical_ns) -> int | None\n\n"
     "Append the common record's JSONEachRow line to body and return its ts in ns; None (body\n"
     "untouched) for any other record."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rowjson", NULL, -1, methods};

PyMODINIT_FUNC PyInit__rowjson(void) {
    PyObject **keys[] = {&k_ts, &k_lane, &k_source, &k_name, &k_value, &k_unit, &k_severity, &k_body, &k_attrs,
                         &k_anomaly, &k_redacted};
    const char *names[] = {"ts", "lane", "source", "name", "value", "unit", "severity", "body", "attrs",
                           "anomaly", "redacted"};
    known = PyFrozenSet_New(NULL);
    if (known == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        *keys[i] = PyUnicode_InternFromString(names[i]);
        if (*keys[i] == NULL || PySet_Add(known, *keys[i]))
            return NULL;
    }
    return PyModule_Create(&module);
}
