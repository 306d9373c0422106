/* The logfmt tokenizer of ben_cli/ingest/logfmt.py, compiled.
 *
 * parse(line) gives exactly what the pure-Python tokenizer gives, or raises the same
 * DecodeError with the same message. The Python code stays the definition; this file walks the line the way
 * re.findall walks it with _TOKEN,
 *
 *     ([^\s="]+)(?:(=)(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s"]*)))?|(\S+)
 *
 * one token at a time, left to right:
 *
 *   - whitespace (\s of a str pattern: Py_UNICODE_ISSPACE, so NBSP, U+2003, \x1c and \x85 too)
 *     between tokens is skipped;
 *   - a token starting with '=' or '"' cannot be a key, so it is junk up to the next whitespace:
 *     the line is refused with its first 40 characters;
 *   - otherwise the key runs to the first whitespace, '=' or '"' (the key pattern is greedy and
 *     the value group optional, so the regex never gives a key back);
 *   - after "key=" a quoted value is tried first: it must reach a closing quote, every backslash
 *     escaping the next character except a newline ('.' does not match one); if it does not,
 *     the value is bare, running to whitespace or '"' (so it is empty before a stray quote);
 *   - a key without '=' is a flag.
 *
 * Values: quoted ones are unescaped (\" \\ \n \t \r; any other pair kept as written), bare ones
 * typed as typed() types them, an empty value (key= or key="") is "", and a flag is True. A
 * later duplicate key overwrites the
 * value but keeps the first one's place, as dict assignment does.
 *
 * The line is only read; every object made is either put into the dict or released, and the one
 * buffer (for unescaping) is as long as the quoted text it is made from.
 *
 * Speed: the scanner is written once over PyUnicode_READ and inlined three times, once for each
 * character width of str (nearly every line is the 1-byte kind), so the width is a constant in
 * each copy. Lines of one producer repeat their keys in the same order, so the key objects of the
 * last lines are kept by position and handed out again when the text matches: no allocation and
 * no hashing (a str keeps its hash) for them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

typedef struct {
    PyObject *str;
    int kind;
    const void *data;
    Py_ssize_t len;
} Line;

#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

#define AT(t, i) PyUnicode_READ((t)->kind, (t)->data, (i))
#define IS_SPACE(c) Py_UNICODE_ISSPACE(c)
/* numbers are written in ASCII digits only (typed() says [0-9], not \d) */
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

static PyObject *empty_str;  /* "" */

#define KEY_CACHE 64     /* keys remembered: the first this many pairs of a line */
#define KEY_CACHE_LEN 64 /* and only keys up to this many characters */
static PyObject *recent_keys[KEY_CACHE];

/* Index of the quote that closes the quoted value starting at `start` (just after the opening
 * quote), or -1 when there is none; *escaped is set when a backslash pair was crossed. */
HOT Py_ssize_t
closing_quote(const Line *t, Py_ssize_t start, int *escaped)
{
    Py_ssize_t i = start;
    *escaped = 0;
    while (i < t->len) {
        Py_UCS4 c = AT(t, i);
        if (c == '"')
            return i;
        if (c == '\\') {
            if (i + 1 >= t->len || AT(t, i + 1) == '\n')
                return -1;
            *escaped = 1;
            i += 2;
        } else {
            i++;
        }
    }
    return -1;
}

/* The text of [start, end) with backslash pairs replaced as _unescape replaces them. The
 * closing_quote() scan guarantees every backslash here has a partner. */
HOT PyObject *
unescape(const Line *t, Py_ssize_t start, Py_ssize_t end)
{
    /* the result is never longer than the source, and holds no wider character */
    void *buf = PyMem_Malloc((size_t)(end - start) * (size_t)t->kind);
    if (buf == NULL)
        return PyErr_NoMemory();
    Py_ssize_t n = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = AT(t, i);
        if (c == '\\') {
            Py_UCS4 e = AT(t, ++i);
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            default:
                PyUnicode_WRITE(t->kind, buf, n, '\\');
                n++;
                c = e;
            }
        }
        PyUnicode_WRITE(t->kind, buf, n, c);
        n++;
    }
    PyObject *out = PyUnicode_FromKindAndData(t->kind, buf, n);
    PyMem_Free(buf);
    return out;
}

HOT int
matches_ascii(const Line *t, Py_ssize_t start, Py_ssize_t end, const char *word)
{
    Py_ssize_t n = (Py_ssize_t)strlen(word);
    if (end - start != n)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (AT(t, start + i) != (Py_UCS4)(unsigned char)word[i])
            return 0;
    return 1;
}

/* A non-empty bare value as typed() gives it: a canonical number
 * -?(?:0|[1-9](\d*))(\.\d+)?([eE][+-]?\d+)? becomes an int when it has no fraction, no exponent
 * and at most 18 digits, else a float unless that is infinite; true/false become bools. */
HOT PyObject *
typed(const Line *t, Py_ssize_t start, Py_ssize_t end)
{
    Py_UCS4 c = AT(t, start);
    if (c == '-' || (c >= '0' && c <= '9')) {
        Py_ssize_t i = start + (c == '-');
        int small = 1;     /* at most 18 digits */
        long long whole = 0;
        if (i >= end)
            goto text;
        c = AT(t, i);
        if (c == '0') {
            i++;
        } else if (c >= '1' && c <= '9') {
            Py_ssize_t digits = 0;
            for (; i < end && IS_DIGIT(c = AT(t, i)); i++, digits++) {
                if (digits < 18)
                    whole = whole * 10 + (long long)(c - '0');
            }
            small = digits <= 18;
        } else {
            goto text;
        }
        int fraction = 0, exponent = 0;
        if (i < end && AT(t, i) == '.') {
            Py_ssize_t first = ++i;
            while (i < end && IS_DIGIT(AT(t, i)))
                i++;
            if (i == first)
                goto text;
            fraction = 1;
        }
        if (i < end && (AT(t, i) == 'e' || AT(t, i) == 'E')) {
            i++;
            if (i < end && (AT(t, i) == '+' || AT(t, i) == '-'))
                i++;
            Py_ssize_t first = i;
            while (i < end && IS_DIGIT(AT(t, i)))
                i++;
            if (i == first)
                goto text;
            exponent = 1;
        }
        if (i != end)
            goto text;
        if (!fraction && !exponent && small)
            return PyLong_FromLongLong(AT(t, start) == '-' ? -whole : whole);
        PyObject *s = PyUnicode_Substring(t->str, start, end);
        if (s == NULL)
            return NULL;
        PyObject *f = PyFloat_FromString(s);
        if (f == NULL) {
            Py_DECREF(s);
            return NULL;
        }
        if (isfinite(PyFloat_AS_DOUBLE(f))) {
            Py_DECREF(s);
            return f;
        }
        Py_DECREF(f);
        return s;
    }
    if (matches_ascii(t, start, end, "true"))
        Py_RETURN_TRUE;
    if (matches_ascii(t, start, end, "false"))
        Py_RETURN_FALSE;
text:
    return PyUnicode_Substring(t->str, start, end);
}

/* Whether [start, start + len(known)) of the line is the text of `known`. */
HOT int
same_text(const Line *t, Py_ssize_t start, PyObject *known)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(known);
    int kind = PyUnicode_KIND(known);
    const void *data = PyUnicode_DATA(known);
    if (kind == t->kind)
        return memcmp((const char *)t->data + start * kind, data, (size_t)(n * kind)) == 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (AT(t, start + i) != PyUnicode_READ(kind, data, i))
            return 0;
    return 1;
}

/* The key [start, end), the `index`-th of its line: the object the last line had there when it is
 * the same text, else a new one, remembered for the next line. */
HOT PyObject *
key_at(const Line *t, Py_ssize_t start, Py_ssize_t end, Py_ssize_t index)
{
    if (index >= KEY_CACHE || end - start > KEY_CACHE_LEN)
        return PyUnicode_Substring(t->str, start, end);
    PyObject *known = recent_keys[index];
    if (known != NULL && PyUnicode_GET_LENGTH(known) == end - start && same_text(t, start, known))
        return Py_NewRef(known);
    PyObject *key = PyUnicode_Substring(t->str, start, end);
    if (key != NULL)
        Py_XSETREF(recent_keys[index], Py_NewRef(key));
    return key;
}

/* Raise ben_cli.ingest.format.DecodeError(message), as the Python tokenizer does (a ValueError
 * should that module not import). Consumes the reference to message. */
static void
refuse(PyObject *message)
{
    if (message == NULL)
        return;
    PyObject *cls = PyExc_ValueError;
    PyObject *format = PyImport_ImportModule("ben_cli.ingest.format");
    PyObject *decode_error = format ? PyObject_GetAttrString(format, "DecodeError") : NULL;
    Py_XDECREF(format);
    if (decode_error != NULL && PyType_Check(decode_error)
        && PyType_IsSubtype((PyTypeObject *)decode_error, (PyTypeObject *)PyExc_ValueError))
        cls = decode_error;
    PyErr_Clear();
    PyErr_SetObject(cls, message);
    Py_XDECREF(decode_error);
    Py_DECREF(message);
}

static void
refuse_junk(const Line *t, Py_ssize_t start)
{
    Py_ssize_t end = start;
    while (end < t->len && end - start < 40 && !IS_SPACE(AT(t, end)))
        end++;
    PyObject *junk = PyUnicode_Substring(t->str, start, end);
    if (junk == NULL)
        return;
    refuse(PyUnicode_FromFormat("not a key=value pair: %R", junk));
    Py_DECREF(junk);
}

PyDoc_STRVAR(parse_doc,
"parse(line: str) -> dict\n\n"
"The key=value pairs of one logfmt line, exactly as the pure-Python tokenizer reads them;\n"
"raises its DecodeError, with its message, for a line it refuses.");

/* The tokenizer for lines of one character width (`kind`, a constant in each inlined copy). */
HOT PyObject *
parse_kind(PyObject *arg, int kind)
{
    Line line = {arg, kind, PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    const Line *t = &line;
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    Py_ssize_t i = 0, pairs = 0;
    while (i < t->len) {
        Py_UCS4 c = AT(t, i);
        if (IS_SPACE(c)) {
            i++;
            continue;
        }
        if (c == '=' || c == '"') {
            refuse_junk(t, i);
            goto fail;
        }
        Py_ssize_t key_start = i;
        while (i < t->len && (c = AT(t, i)) != '=' && c != '"' && !IS_SPACE(c))
            i++;
        PyObject *key = key_at(t, key_start, i, pairs++);
        if (key == NULL)
            goto fail;
        PyObject *value = NULL;
        if (i < t->len && AT(t, i) == '=') {
            i++;
            if (i < t->len && AT(t, i) == '"') {
                int escaped;
                Py_ssize_t close = closing_quote(t, i + 1, &escaped);
                if (close >= 0) {
                    if (escaped)
                        value = unescape(t, i + 1, close);
                    else
                        value = PyUnicode_Substring(arg, i + 1, close);
                    i = close + 1;
                    if (value == NULL) {
                        Py_DECREF(key);
                        goto fail;
                    }
                }
            }
            if (value == NULL) {
                Py_ssize_t start = i;
                while (i < t->len && (c = AT(t, i)) != '"' && !IS_SPACE(c))
                    i++;
                value = i == start ? Py_NewRef(empty_str) : typed(t, start, i);
            }
        } else {
            value = Py_NewRef(Py_True);  /* a flag */
        }
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int err = PyDict_SetItem(out, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (err < 0)
            goto fail;
    }
    if (PyDict_GET_SIZE(out) == 0) {
        refuse(PyUnicode_FromString("no key=value pairs"));
        goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *
parse(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "parse() takes a str, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(arg) < 0)
        return NULL;
#endif
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND:
        return parse_kind(arg, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return parse_kind(arg, PyUnicode_2BYTE_KIND);
    default:
        return parse_kind(arg, PyUnicode_4BYTE_KIND);
    }
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_O, parse_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ben_cli.ingest._logfmt",
    .m_doc = "The compiled logfmt tokenizer; ben_cli.ingest.logfmt holds its definition in Python.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__logfmt(void)
{
    if (empty_str == NULL && (empty_str = PyUnicode_FromString("")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
