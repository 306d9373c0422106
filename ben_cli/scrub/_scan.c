/* Scans of ben_cli/scrub, compiled: the IPv4 finder's pattern (entities.py), the prefilter's
 * triggers and the user-name gate words (prefilter.py).
 *
 * The Python definitions stay: each function here gives exactly what its definition gives, and a
 * property test (and the native_scan fuzz target) compares them on random text.
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
#include <string.h>

#if defined(__GNUC__)
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#endif

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Text;

INLINE Py_UCS4 at(const Text *t, Py_ssize_t i) { return i < t->n ? PyUnicode_READ(t->kind, t->data, i) : 0; }
INLINE int is_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }
INLINE int is_word(Py_UCS4 c) { return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

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

/* Append item (a new reference, or NULL after a failure) to out, releasing it; on a failure out
 * is released too and -1 returned. */
static int append_new(PyObject *out, PyObject *item)
{
    if (item == NULL || PyList_Append(out, item) < 0) {
        Py_XDECREF(item);
        Py_DECREF(out);
        return -1;
    }
    Py_DECREF(item);
    return 0;
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
        if (t.kind == PyUnicode_1BYTE_KIND) { /* to the next digit, one load per character */
            const Py_UCS1 *s = (const Py_UCS1 *)t.data;
            while (p < t.n && !is_digit(s[p]))
                p++;
            if (p == t.n)
                break;
        }
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
        PyObject *start = PyLong_FromSsize_t(p), *end = PyLong_FromSsize_t(e);
        PyObject *span = start && end ? PyTuple_Pack(2, start, end) : NULL;
        Py_XDECREF(start);
        Py_XDECREF(end);
        if (append_new(out, span) < 0)
            return NULL;
        p = e;
    }
    return out;
}

/* ------------------------------------------------------------------------------------------
 * families(text) is prefilter.families_python(text) as a bit mask: bit k is set when a trigger of
 * the k-th family of prefilter.TRIGGERS (the order of FAMILIES below) occurs in the UTF-8 bytes
 * of text, searched the way Hyperscan (and Python's re on bytes) searches them: \d, \s, \b and
 * caseless matching are ASCII only, so a non-ASCII character is one "other" character here (not
 * a space, not a word character) whatever its width in bytes.
 *
 * Every trigger is checked at each start position by hand. None needs backtracking: each
 * repetition in them is followed by a character it cannot take (a digit run by "." or "-", a
 * run of non-spaces by " "), so only its longest run can be followed by what comes next, and
 * that is the one checked. Literals are found through a table of probes per first character.
 */

enum { F_AT, F_KV, F_KW, F_VENDOR, F_CARD, F_PCT, F_UNI, F_SSN, F_IBAN, F_PHONE, F_IPV4, F_USER, F_IPHOST, F_PROSE,
       F_COLON, F_CLI, F_COUNT };
static const char *const family_names[F_COUNT] = {"at", "kv", "kw", "vendor", "card", "pct", "uni", "ssn", "iban", "phone",
                                                  "ipv4", "user", "iphost", "prose", "colon", "cli"};

INLINE Py_UCS4 lower(Py_UCS4 c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
INLINE int is_hex(Py_UCS4 c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
INLINE int is_alpha(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
INLINE int is_alnum(Py_UCS4 c) { return is_alpha(c) || is_digit(c); }
INLINE int is_space(Py_UCS4 c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* After a literal: what else the trigger needs (the end of the literal is at j). */
enum { T_NONE, T_KV, T_FOR_FROM, T_WORD_END, T_PAREN_CMD, T_DASH_USER, T_PROSE, T_GH, T_XOX, T_STRIPE };

typedef struct {
    const char *lit; /* lower case when caseless */
    unsigned char family, caseless, tail;
} Probe;

static const Probe probes[] = {
    {"@", F_AT, 0, T_NONE},
    /* kv: a secret-ish word, key characters, an optional quote, blanks, then = or : */
    {"pass", F_KV, 1, T_KV}, {"pwd", F_KV, 1, T_KV}, {"secret", F_KV, 1, T_KV}, {"token", F_KV, 1, T_KV},
    {"key", F_KV, 1, T_KV}, {"credential", F_KV, 1, T_KV}, {"sess", F_KV, 1, T_KV}, {"sid", F_KV, 1, T_KV},
    {"cookie", F_KV, 1, T_KV}, {"auth", F_KV, 1, T_KV}, {"hmac", F_KV, 1, T_KV}, {"signature", F_KV, 1, T_KV},
    /* kw */
    {"secret", F_KW, 1, T_NONE}, {"token", F_KW, 1, T_NONE}, {"key", F_KW, 1, T_NONE}, {"passw", F_KW, 1, T_NONE},
    {"credential", F_KW, 1, T_NONE}, {"signature", F_KW, 1, T_NONE}, {"bearer", F_KW, 1, T_NONE},
    {"basic", F_KW, 1, T_NONE}, {"auth", F_KW, 1, T_NONE}, {"hmac", F_KW, 1, T_NONE}, {"cookie", F_KW, 1, T_NONE},
    {"aws", F_KW, 1, T_NONE},
    /* vendor (case as written) */
    {"AKIA", F_VENDOR, 0, T_NONE}, {"ASIA", F_VENDOR, 0, T_NONE}, {"ABIA", F_VENDOR, 0, T_NONE},
    {"ACCA", F_VENDOR, 0, T_NONE}, {"AGPA", F_VENDOR, 0, T_NONE}, {"AIDA", F_VENDOR, 0, T_NONE},
    {"AIPA", F_VENDOR, 0, T_NONE}, {"ANPA", F_VENDOR, 0, T_NONE}, {"ANVA", F_VENDOR, 0, T_NONE},
    {"APKA", F_VENDOR, 0, T_NONE}, {"AROA", F_VENDOR, 0, T_NONE}, {"ASCA", F_VENDOR, 0, T_NONE},
    {"gh", F_VENDOR, 0, T_GH}, {"github_pat_", F_VENDOR, 0, T_NONE}, {"xox", F_VENDOR, 0, T_XOX},
    {"xapp-", F_VENDOR, 0, T_NONE}, {"hooks.slack.com", F_VENDOR, 0, T_NONE}, {"sk_", F_VENDOR, 0, T_STRIPE},
    {"rk_", F_VENDOR, 0, T_STRIPE}, {"whsec_", F_VENDOR, 0, T_NONE}, {"AIza", F_VENDOR, 0, T_NONE},
    {"PRIVATE KEY", F_VENDOR, 0, T_NONE}, {"eyJ", F_VENDOR, 0, T_NONE},
    /* phone words (the number shapes are checked in code) */
    {"phone", F_PHONE, 1, T_NONE}, {"tel", F_PHONE, 1, T_NONE}, {"mobile", F_PHONE, 1, T_NONE},
    {"cell", F_PHONE, 1, T_NONE}, {"call", F_PHONE, 1, T_NONE}, {"contact", F_PHONE, 1, T_NONE},
    {"fax", F_PHONE, 1, T_NONE}, {"sms", F_PHONE, 1, T_NONE}, {"msisdn", F_PHONE, 1, T_NONE},
    {"whatsapp", F_PHONE, 1, T_NONE}, {"number", F_PHONE, 1, T_NONE}, {"reach", F_PHONE, 1, T_NONE},
    {"dial", F_PHONE, 1, T_NONE}, {"ph", F_PHONE, 1, T_WORD_END}, {"mob", F_PHONE, 1, T_WORD_END},
    /* user */
    {"user", F_USER, 1, T_NONE}, {"login", F_USER, 1, T_NONE}, {"logname", F_USER, 1, T_NONE},
    {"tty=", F_USER, 1, T_NONE}, {"(to ", F_USER, 1, T_NONE}, {"su for ", F_USER, 1, T_NONE},
    {"uid=", F_USER, 1, T_NONE}, {"for ", F_USER, 1, T_FOR_FROM}, {"incorrect password", F_USER, 1, T_NONE},
    {"command not allowed", F_USER, 1, T_NONE}, {"/dev/", F_USER, 1, T_NONE}, {"permissions: set(", F_USER, 1, T_NONE},
    {"for '", F_USER, 1, T_NONE}, {"] ok ", F_USER, 1, T_NONE}, {"] fail ", F_USER, 1, T_NONE},
    {") ", F_USER, 1, T_PAREN_CMD}, {"- ", F_USER, 1, T_DASH_USER},
    /* prose: a password word, letters, an optional "for X", then a verb */
    {"passw", F_PROSE, 1, T_PROSE}, {"passphrase", F_PROSE, 1, T_PROSE}, {"pass phrase", F_PROSE, 1, T_PROSE},
    {"pwd", F_PROSE, 1, T_PROSE}, {"passcode", F_PROSE, 1, T_PROSE}, {"pin", F_PROSE, 1, T_PROSE},
    {"secret", F_PROSE, 1, T_PROSE},
    /* cli: commands that take a password on their command line, and --password X */
    {"sshpass", F_CLI, 1, T_NONE}, {"mysql", F_CLI, 1, T_NONE}, {"mariadb", F_CLI, 1, T_NONE},
    {"redis-cli", F_CLI, 1, T_NONE}, {"curl ", F_CLI, 1, T_NONE}, {"docker login", F_CLI, 1, T_NONE},
    {"--pass", F_CLI, 1, T_NONE}, {"--token", F_CLI, 1, T_NONE}, {"--secret", F_CLI, 1, T_NONE},
    {"--api", F_CLI, 1, T_NONE},
};
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))
_Static_assert(N_PROBES < 127, "a character's list of probes (LIST_MAX) holds each probe once and a -1");

/* The probes whose literal can start with each ASCII character, in table order, -1 ended; and
 * which pairs of ASCII characters can start one (a literal of one character: any pair), so most
 * positions are passed by one table load. */
#define LIST_MAX 128 /* more than the probes, or the literals of a table (64), and the -1 */
static short by_first[128][LIST_MAX];
static unsigned char pair_starts[128][128];
/* ASCII characters at which nothing can start: no literal, no digit or letter, none of % + ( : */
static unsigned char inert[128];

/* Literal number k (ASCII) starts at its first character (both cases if caseless): into first[]
 * (counts[] per character) and pairs[][] (any second character for a literal of one). */
static void add_start(short first[128][LIST_MAX], int counts[128], unsigned char pairs[128][128], int k, const char *lit,
                      int caseless)
{
    unsigned char c = (unsigned char)lit[0], d = (unsigned char)lit[1];
    unsigned char firsts[2] = {c, caseless && c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c};
    unsigned char seconds[2] = {d, caseless && d >= 'a' && d <= 'z' ? (unsigned char)(d - 32) : d};
    for (int a = 0; a < (firsts[1] != firsts[0] ? 2 : 1); a++) {
        first[firsts[a]][counts[firsts[a]]++] = (short)k;
        for (int b = 0; b < 128; b++)
            if (d == 0 || b == seconds[0] || b == seconds[1])
                pairs[firsts[a]][b] = 1;
    }
}

static void build_probe_table(void)
{
    int counts[128] = {0};
    for (size_t p = 0; p < N_PROBES; p++)
        add_start(by_first, counts, pair_starts, (int)p, probes[p].lit, probes[p].caseless);
    for (int c = 0; c < 128; c++) {
        by_first[c][counts[c]] = -1;
        inert[c] = counts[c] == 0 && !is_alnum((Py_UCS4)c) && c != '%' && c != '+' && c != '(' && c != ':';
    }
}

/* The end of lit at i, or -1. */
INLINE Py_ssize_t literal(const Text *t, Py_ssize_t i, const char *lit, int caseless)
{
    for (; *lit; lit++, i++) {
        if (i >= t->n)
            return -1;
        Py_UCS4 c = PyUnicode_READ(t->kind, t->data, i);
        if ((caseless ? lower(c) : c) != (Py_UCS4)(unsigned char)*lit)
            return -1;
    }
    return i;
}

INLINE Py_ssize_t nonspace_run(const Text *t, Py_ssize_t j)
{
    while (j < t->n && !is_space(PyUnicode_READ(t->kind, t->data, j)))
        j++;
    return j;
}

INLINE Py_ssize_t digit_run(const Text *t, Py_ssize_t j)
{
    while (is_digit(at(t, j)))
        j++;
    return j;
}

/* " " then (is|was|will|has|set|changed|reset) then " ", caseless, at j */
INLINE int prose_verb(const Text *t, Py_ssize_t j)
{
    static const char *const verbs[] = {" is ", " was ", " will ", " has ", " set ", " changed ", " reset "};
    for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
        if (literal(t, j, verbs[v], 1) >= 0)
            return 1;
    return 0;
}

/* What a probe needs after its literal (ending at j). */
INLINE int tail_matches(const Text *t, int tail, Py_ssize_t j)
{
    Py_UCS4 c;
    switch (tail) {
    case T_NONE:
        return 1;
    case T_KV: /* [A-Za-z0-9_.-]*["']?[ \t]*[=:] */
        while (c = at(t, j), is_word(c) || c == '.' || c == '-')
            j++;
        if (at(t, j) == '"' || at(t, j) == '\'')
            j++;
        while (at(t, j) == ' ' || at(t, j) == '\t')
            j++;
        return at(t, j) == '=' || at(t, j) == ':';
    case T_FOR_FROM: { /* \S+ from */
        Py_ssize_t k = nonspace_run(t, j);
        return k > j && literal(t, k, " from", 1) >= 0;
    }
    case T_WORD_END: /* \b after a word character */
        return !is_word(at(t, j)) || j >= t->n;
    case T_PAREN_CMD: { /* (cmd|reload|replace|list|delete|begin edit|end edit) then " " */
        static const char *const cmds[] = {"cmd ", "reload ", "replace ", "list ", "delete ", "begin edit ", "end edit "};
        for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
            if (literal(t, j, cmds[k], 1) >= 0)
                return 1;
        return 0;
    }
    case T_DASH_USER: { /* [a-z0-9_]\S* \[\d (caseless) */
        if (j >= t->n || !is_word(at(t, j)))
            return 0;
        Py_ssize_t k = nonspace_run(t, j + 1);
        return at(t, k) == ' ' && at(t, k + 1) == '[' && is_digit(at(t, k + 2));
    }
    case T_PROSE: { /* [a-z]*( for \S+)? then a verb (caseless) */
        while (is_alpha(at(t, j)))
            j++;
        if (prose_verb(t, j))
            return 1;
        Py_ssize_t k = literal(t, j, " for ", 1);
        if (k < 0)
            return 0;
        Py_ssize_t e = nonspace_run(t, k);
        return e > k && prose_verb(t, e);
    }
    case T_GH: /* gh[pousr]_ */
        c = at(t, j);
        return (c == 'p' || c == 'o' || c == 'u' || c == 's' || c == 'r') && at(t, j + 1) == '_';
    case T_XOX: /* xox[abposre]- */
        c = at(t, j);
        return c && c < 128 && strchr("abposre", (int)c) != NULL && at(t, j + 1) == '-';
    case T_STRIPE: /* [sr]k_(live|test)_ */
        return literal(t, j, "live_", 0) >= 0 || literal(t, j, "test_", 0) >= 0;
    }
    return 0;
}

/* \d(?:[ .-]?\d){11} from a digit at i */
INLINE int card_at(const Text *t, Py_ssize_t i)
{
    int count = 1;
    Py_ssize_t j = i + 1;
    while (count < 12) {
        Py_UCS4 c = at(t, j);
        if (is_digit(c))
            j++;
        else if ((c == ' ' || c == '.' || c == '-') && is_digit(at(t, j + 1)))
            j += 2;
        else
            return 0;
        count++;
    }
    return 1;
}

/* The triggers that start with a digit at i, into *found. */
INLINE void digit_triggers(const Text *t, Py_ssize_t i, unsigned *found)
{
    unsigned f = *found;
    Py_UCS4 c1 = at(t, i + 1);
    /* a digit the card chain reaches from the one or two characters before it: that chain is longer */
    Py_UCS4 b1 = i ? PyUnicode_READ(t->kind, t->data, i - 1) : 0;
    int continues = is_digit(b1) || (i >= 2 && (b1 == ' ' || b1 == '.' || b1 == '-') && is_digit(PyUnicode_READ(t->kind, t->data, i - 2)));
    if (!(f & (1u << F_CARD)) && !continues && card_at(t, i))
        f |= 1u << F_CARD;
    if (is_digit(c1) && is_digit(at(t, i + 2))) {
        Py_UCS4 s1 = at(t, i + 3);
        /* \d{3}[- ]\d{2}[- ]\d{4} */
        if (!(f & (1u << F_SSN)) && (s1 == '-' || s1 == ' ') && is_digit(at(t, i + 4)) && is_digit(at(t, i + 5))
            && (at(t, i + 6) == '-' || at(t, i + 6) == ' ') && is_digit(at(t, i + 7)) && is_digit(at(t, i + 8))
            && is_digit(at(t, i + 9)) && is_digit(at(t, i + 10)))
            f |= 1u << F_SSN;
        /* \d{3}[ .-]\d{3}[ .-]\d{4} */
        if (!(f & (1u << F_PHONE)) && (s1 == ' ' || s1 == '.' || s1 == '-') && is_digit(at(t, i + 4))
            && is_digit(at(t, i + 5)) && is_digit(at(t, i + 6))
            && (at(t, i + 7) == ' ' || at(t, i + 7) == '.' || at(t, i + 7) == '-') && is_digit(at(t, i + 8))
            && is_digit(at(t, i + 9)) && is_digit(at(t, i + 10)) && is_digit(at(t, i + 11)))
            f |= 1u << F_PHONE;
    }
    /* (?:^|[^A-Za-z0-9_+.:/=-])0\d */
    if (!(f & (1u << F_PHONE)) && at(t, i) == '0' && is_digit(c1)) {
        Py_UCS4 b = b1;
        if (i == 0 || !(is_word(b) || (b < 128 && b && strchr("+.:/=-", (int)b) != NULL)))
            f |= 1u << F_PHONE;
    }
    if (c1 == '.') {
        /* \d\.\d{1,3}\.\d{1,3}\.\d */
        Py_ssize_t a = digit_run(t, i + 2), b;
        if (!(f & (1u << F_IPV4)) && a - (i + 2) >= 1 && a - (i + 2) <= 3 && at(t, a) == '.'
            && (b = digit_run(t, a + 1), b - (a + 1) >= 1 && b - (a + 1) <= 3) && at(t, b) == '.' && is_digit(at(t, b + 1)))
            f |= 1u << F_IPV4;
        /* \d\.\d+\.\d+\.\d+[.-][A-Za-z] */
        if (!(f & (1u << F_IPHOST)) && a > i + 2 && at(t, a) == '.' && (b = digit_run(t, a + 1)) > a + 1 && at(t, b) == '.') {
            Py_ssize_t e = digit_run(t, b + 1);
            if (e > b + 1 && (at(t, e) == '.' || at(t, e) == '-') && is_alpha(at(t, e + 1)))
                f |= 1u << F_IPHOST;
        }
    }
    else if (c1 == '-' && !(f & (1u << F_IPHOST))) {
        /* \d-\d{1,3}-\d{1,3}-\d */
        Py_ssize_t a = digit_run(t, i + 2), b;
        if (a - (i + 2) >= 1 && a - (i + 2) <= 3 && at(t, a) == '-' && (b = digit_run(t, a + 1), b - (a + 1) >= 1 && b - (a + 1) <= 3)
            && at(t, b) == '-' && is_digit(at(t, b + 1)))
            f |= 1u << F_IPHOST;
    }
    *found = f;
}

/* The triggers that start with a hexadecimal digit or a letter or digit at i (colon, iphost). */
INLINE void alnum_triggers(const Text *t, Py_ssize_t i, Py_UCS4 c, unsigned *found)
{
    Py_UCS4 c1 = at(t, i + 1);
    if (c1 != '-' && c1 != '.')
        return;
    unsigned f = *found;
    /* [A-Za-z0-9][.-]\d+\.\d+\.\d+\.\d */
    if (!(f & (1u << F_IPHOST)) && is_digit(at(t, i + 2))) {
        Py_ssize_t a = digit_run(t, i + 2), b, e;
        if (at(t, a) == '.' && (b = digit_run(t, a + 1)) > a + 1 && at(t, b) == '.' && (e = digit_run(t, b + 1)) > b + 1
            && at(t, e) == '.' && is_digit(at(t, e + 1)))
            f |= 1u << F_IPHOST;
    }
    if (!(f & (1u << F_COLON)) && is_hex(c)) {
        /* [0-9A-Fa-f]-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-[0-9A-Fa-f] */
        if (c1 == '-' && is_hex(at(t, i + 2)) && is_hex(at(t, i + 3)) && at(t, i + 4) == '-' && is_hex(at(t, i + 5))
            && is_hex(at(t, i + 6)) && at(t, i + 7) == '-' && is_hex(at(t, i + 8)) && is_hex(at(t, i + 9))
            && at(t, i + 10) == '-' && is_hex(at(t, i + 11)))
            f |= 1u << F_COLON;
        /* [0-9A-Fa-f]\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f] */
        if (c1 == '.' && is_hex(at(t, i + 2)) && is_hex(at(t, i + 3)) && is_hex(at(t, i + 4)) && is_hex(at(t, i + 5))
            && at(t, i + 6) == '.' && is_hex(at(t, i + 7)))
            f |= 1u << F_COLON;
    }
    *found = f;
}

/* :[0-9A-Fa-f]{0,4}: three times over (four colons) from a colon at i */
INLINE int colons_at(const Text *t, Py_ssize_t i)
{
    for (int k = 0; k < 3; k++) {
        Py_ssize_t j = i + 1;
        while (is_hex(at(t, j)))
            j++;
        if (j - (i + 1) > 4 || at(t, j) != ':')
            return 0;
        i = j;
    }
    return 1;
}

INLINE int unicode_space(Py_UCS4 c)
{
    return c == 0xa0 || c == 0xad || (c >= 0x2000 && c <= 0x200f) || c == 0x202f || c == 0x205f || c == 0x2060
           || c == 0xfeff || c == 0x3000;
}

INLINE unsigned scan_kind(const void *data, Py_ssize_t n, const int kind)
{
    const Text text = {kind, data, n};
    const Text *t = &text;
    const unsigned all = (1u << F_COUNT) - 1;
    unsigned found = 0;
    for (Py_ssize_t i = 0; i < t->n && found != all; i++) {
        Py_UCS4 c = PyUnicode_READ(t->kind, t->data, i);
        if (c >= 128) {
            if (unicode_space(c))
                found |= 1u << F_UNI;
            continue;
        }
        if (inert[c])
            continue;
        Py_UCS4 c1 = at(t, i + 1);
        if (c1 < 128 ? pair_starts[c][c1] : pair_starts[c][0]) { /* (a literal of one character also sets [c][0]) */
            for (const short *p = by_first[c]; *p >= 0; p++) {
                const Probe *pr = &probes[*p];
                if (found & (1u << pr->family))
                    continue;
                Py_ssize_t j = literal(t, i, pr->lit, pr->caseless);
                if (j >= 0 && tail_matches(t, pr->tail, j))
                    found |= 1u << pr->family;
            }
        }
        if (is_digit(c)) {
            digit_triggers(t, i, &found);
            if (c1 == '-' || c1 == '.')
                alnum_triggers(t, i, c, &found);
            continue;
        }
        if (is_alpha(c)) {
            if (c1 == '-' || c1 == '.')
                alnum_triggers(t, i, c, &found);
            else if (c <= 'Z' && c1 >= 'A' && c1 <= 'Z' && is_digit(at(t, i + 2)) && is_digit(at(t, i + 3)))
                found |= 1u << F_IBAN; /* [A-Z]{2}\d\d */
            continue;
        }
        switch (c) {
        case '%':
            if (is_hex(at(t, i + 1)) && is_hex(at(t, i + 2)))
                found |= 1u << F_PCT;
            break;
        case '+':
            if (at(t, i + 1) >= '1' && at(t, i + 1) <= '9')
                found |= 1u << F_PHONE;
            break;
        case '(': { /* \(\d{1,4}\) */
            Py_ssize_t e = digit_run(t, i + 1);
            if (e - (i + 1) >= 1 && e - (i + 1) <= 4 && at(t, e) == ')')
                found |= 1u << F_PHONE;
            break;
        }
        case ':':
            if (at(t, i + 1) == ':' || colons_at(t, i))
                found |= 1u << F_COLON;
            break;
        }
    }
    return found;
}

/* The scan compiled once per string kind, so that reading a character is one load. */
static unsigned scan_families(PyObject *text)
{
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return scan_kind(data, n, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return scan_kind(data, n, PyUnicode_2BYTE_KIND);
    default:
        return scan_kind(data, n, PyUnicode_4BYTE_KIND);
    }
}

PyDoc_STRVAR(families_doc, "families(text) -> int: prefilter.families_python(text) as a bit mask, bit k for FAMILIES[k].");

static PyObject *
families(PyObject *Py_UNUSED(self), PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "families() needs a str");
        return NULL;
    }
    return PyLong_FromUnsignedLong(scan_families(arg));
}

/* ------------------------------------------------------------------------------------------
 * literals(text, table) is the set of ids of prefilter.Literals: table is a tuple of
 * (lower-case ASCII literal, id) pairs, id 0-63, and bit id of the result is set when its literal
 * occurs in text, ignoring ASCII case. The table is compiled on its first use and kept (with a
 * reference) until another table is passed: there is one in the library, the user-name gates.
 */

#define MAX_LITERALS 64
#define MAX_LITERAL_LEN 32

static PyObject *lit_table = NULL;
static char lit_text[MAX_LITERALS][MAX_LITERAL_LEN];
static int lit_id[MAX_LITERALS];
static short lit_first[128][LIST_MAX];
static unsigned char lit_pairs[128][128];

static int compile_literals(PyObject *table)
{
    if (!PyTuple_Check(table) || PyTuple_GET_SIZE(table) > MAX_LITERALS) {
        PyErr_SetString(PyExc_ValueError, "literals() needs a tuple of at most 64 (literal, id) pairs");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(table);
    int counts[128] = {0};
    memset(lit_pairs, 0, sizeof(lit_pairs));
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *pair = PyTuple_GET_ITEM(table, k);
        Py_ssize_t len;
        const char *lit;
        long id;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))
            || (lit = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &len)) == NULL || len < 1 || len >= MAX_LITERAL_LEN
            || (id = PyLong_AsLong(PyTuple_GET_ITEM(pair, 1))) < 0 || id >= 64) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "literals(): each pair is (a literal of 1-31 characters, an id 0-63)");
            Py_CLEAR(lit_table);
            return -1;
        }
        for (Py_ssize_t j = 0; j < len; j++)
            if ((unsigned char)lit[j] >= 128 || (lit[j] >= 'A' && lit[j] <= 'Z')) {
                PyErr_SetString(PyExc_ValueError, "literals(): a literal must be lower-case ASCII");
                Py_CLEAR(lit_table);
                return -1;
            }
        memcpy(lit_text[k], lit, (size_t)len + 1);
        lit_id[k] = (int)id;
        add_start(lit_first, counts, lit_pairs, (int)k, lit, 1);
    }
    for (int c = 0; c < 128; c++)
        lit_first[c][counts[c]] = -1;
    Py_INCREF(table);
    Py_XSETREF(lit_table, table);
    return 0;
}

INLINE unsigned long long literals_kind(const void *data, Py_ssize_t n, const int kind)
{
    const Text text = {kind, data, n};
    const Text *t = &text;
    unsigned long long found = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 128)
            continue;
        Py_UCS4 c1 = at(t, i + 1);
        if (!(c1 < 128 ? lit_pairs[c][c1] : lit_pairs[c][0]))
            continue;
        for (const short *p = lit_first[c]; *p >= 0; p++)
            if (!(found >> lit_id[*p] & 1) && literal(t, i, lit_text[*p], 1) >= 0)
                found |= 1ull << lit_id[*p];
    }
    return found;
}

PyDoc_STRVAR(literals_doc, "literals(text, table) -> int: bit id set for each (literal, id) of table found in text, ASCII case ignored.");

static PyObject *
literals(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "literals() needs a str and a table");
        return NULL;
    }
    if (args[1] != lit_table && compile_literals(args[1]) < 0)
        return NULL;
    PyObject *text = args[0];
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    unsigned long long found;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        found = literals_kind(data, n, PyUnicode_1BYTE_KIND);
        break;
    case PyUnicode_2BYTE_KIND:
        found = literals_kind(data, n, PyUnicode_2BYTE_KIND);
        break;
    default:
        found = literals_kind(data, n, PyUnicode_4BYTE_KIND);
    }
    return PyLong_FromUnsignedLongLong(found);
}

/* ------------------------------------------------------------------------------------------
 * user_matches(text, which) is entities.user_context_spans_python(i, text) for two of the
 * user-name contexts (which 0: the `user NAME` context, 1: the CLF remote user): the list of
 * (start, end, name start, name end) of each match of the context's pattern, searched from the
 * start of text (re.ASCII):
 *
 *     which 0:  \b(?:USER|user) NAME(?=: | \(Login failed\)|: authentication failure| not found|$)
 *     which 1:  - NAME \[\d
 *     NAME   =  ([A-Za-z0-9_][A-Za-z0-9._$@-]{0,62}(?<![.@-]))
 *
 * No backtracking is needed: NAME is followed in both by a space, a colon or the end of the text
 * (or a final newline, for $), none of which NAME can take. So a NAME the engine settles on is
 * the whole run of name characters from its start, at most 63 of them, not ending in . @ or -:
 * a shorter one is followed by a name character, which nothing after it accepts.
 */

INLINE int is_name(Py_UCS4 c) { return is_word(c) || c == '.' || c == '$' || c == '@' || c == '-'; }

/* The end of the NAME starting at q, or -1. */
INLINE Py_ssize_t name_end(const Text *t, Py_ssize_t q)
{
    if (!is_word(at(t, q)))
        return -1;
    Py_ssize_t e = q + 1;
    while (e < t->n && is_name(PyUnicode_READ(t->kind, t->data, e)))
        if (++e - q > 63)
            return -1;
    Py_UCS4 last = PyUnicode_READ(t->kind, t->data, e - 1);
    return last == '.' || last == '@' || last == '-' ? -1 : e;
}

/* Does text hold lit (ASCII, case as written) at i? */
INLINE int holds(const Text *t, Py_ssize_t i, const char *lit)
{
    for (; *lit; lit++, i++)
        if (i >= t->n || PyUnicode_READ(t->kind, t->data, i) != (Py_UCS4)(unsigned char)*lit)
            return 0;
    return 1;
}

/* The end of a match of context which at p (its name in *q, *e), or -1. */
static Py_ssize_t user_match(const Text *t, Py_ssize_t p, int which, Py_ssize_t *q, Py_ssize_t *e)
{
    if (which == 1) {
        if (!holds(t, p, "- "))
            return -1;
        *q = p + 2;
        *e = name_end(t, *q);
        if (*e < 0 || !holds(t, *e, " [") || !is_digit(at(t, *e + 2)))
            return -1;
        return *e + 3;
    }
    if (!(holds(t, p, "user ") || holds(t, p, "USER ")) || (p > 0 && is_word(PyUnicode_READ(t->kind, t->data, p - 1))))
        return -1;
    *q = p + 5;
    *e = name_end(t, *q);
    if (*e < 0)
        return -1;
    Py_ssize_t r = *e;
    if (r == t->n || (r == t->n - 1 && at(t, r) == '\n') || holds(t, r, ": ") || holds(t, r, " (Login failed)")
        || holds(t, r, ": authentication failure") || holds(t, r, " not found"))
        return r;
    return -1;
}

PyDoc_STRVAR(user_matches_doc,
             "user_matches(text, which) -> [(start, end, name_start, name_end), ...]: the matches of a user-name context.");

static PyObject *
user_matches(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs)
{
    int which;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])
        || ((which = (int)PyLong_AsLong(args[1])) != 0 && which != 1)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "user_matches() needs a str and 0 or 1");
        return NULL;
    }
    PyObject *text = args[0];
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    const Py_UCS4 lead1 = which ? '-' : 'u', lead2 = which ? '-' : 'U';
    Py_ssize_t p = 0;
    while (p < t.n) {
        Py_UCS4 c = PyUnicode_READ(t.kind, t.data, p);
        Py_ssize_t q, e, end;
        if ((c != lead1 && c != lead2) || (end = user_match(&t, p, which, &q, &e)) < 0) {
            p++;
            continue;
        }
        if (append_new(out, Py_BuildValue("(nnnn)", p, end, q, e)) < 0)
            return NULL;
        p = end;
    }
    return out;
}

/* ------------------------------------------------------------------------------------------
 * email_spans(text, pos) is entities.email_spans_python(text, pos): the spans of
 * entities._EMAIL.finditer(text, pos), the pattern being (re.ASCII)
 *
 *     (?<![A-Za-z0-9._%+-])[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@
 *     (?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9@-]|\.[A-Za-z0-9])
 *
 * Only the repetition of labels backtracks. Every other run is followed by a character it cannot
 * take (the local part by "@", a label by ".", the top-level label by what the lookahead refuses,
 * which is every letter), so the engine can only settle on its longest run: the local part is the
 * whole run before "@" (at most 64 characters, the first not ".%+-"), each label the whole run of
 * letters, digits and "-" before its "." (1-63, a letter or digit at both ends), the top-level
 * label the whole run of letters after the last label taken (2-24). The labels are taken greedily,
 * then given back one at a time until a top-level label fits after them.
 */

INLINE int is_local(Py_UCS4 c) { return is_word(c) || c == '.' || c == '%' || c == '+' || c == '-'; }
INLINE int is_label(Py_UCS4 c) { return is_alnum(c) || c == '-'; }

#define MAX_LABELS 64

/* The end of the e-mail starting at p (its lookbehind already checked), or -1. */
static Py_ssize_t email_at(const Text *t, Py_ssize_t p)
{
    if (!is_word(at(t, p)))
        return -1;
    Py_ssize_t q = p + 1;
    while (q < t->n && is_local(PyUnicode_READ(t->kind, t->data, q)))
        if (++q - p > 64)
            return -1;
    if (at(t, q) != '@')
        return -1;
    /* the labels, each ending in ".": starts[j] is where the text after j labels begins */
    Py_ssize_t starts[MAX_LABELS + 1];
    int k = 0;
    Py_ssize_t x = q + 1;
    starts[0] = x;
    for (;;) {
        Py_ssize_t y = x;
        while (y < t->n && is_label(PyUnicode_READ(t->kind, t->data, y)))
            y++;
        if (y == x || y - x > 63 || at(t, y) != '.' || !is_alnum(at(t, x)) || !is_alnum(at(t, y - 1)))
            break;
        x = y + 1;
        if (k == MAX_LABELS) { /* more labels than the table holds: give up on the fast way */
            k = -1;
            break;
        }
        starts[++k] = x;
    }
    if (k < 0)
        return -2;
    for (int j = k; j >= 1; j--) {
        Py_ssize_t z = starts[j], r = z;
        while (r < t->n && is_alpha(PyUnicode_READ(t->kind, t->data, r)))
            r++;
        if (r - z < 2 || r - z > 24)
            continue;
        Py_UCS4 c = at(t, r);
        if (is_alnum(c) || c == '@' || c == '-' || (c == '.' && is_alnum(at(t, r + 1))))
            continue;
        return r;
    }
    return -1;
}

PyDoc_STRVAR(email_spans_doc, "email_spans(text, pos) -> [(start, end), ...]: what entities._EMAIL.finditer(text, pos) finds, or None.");

static PyObject *
email_spans(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t p;
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "email_spans() needs a str and a position");
        return NULL;
    }
    if ((p = PyLong_AsSsize_t(args[1])) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "email_spans(): the position must not be negative");
        return NULL;
    }
    PyObject *text = args[0];
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    while (p < t.n) {
        Py_ssize_t e = -1;
        if (is_word(PyUnicode_READ(t.kind, t.data, p)) && !(p > 0 && is_local(PyUnicode_READ(t.kind, t.data, p - 1))))
            e = email_at(&t, p);
        if (e == -2) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        if (e < 0) {
            p++;
            continue;
        }
        if (append_new(out, Py_BuildValue("(nn)", p, e)) < 0)
            return NULL;
        p = e;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"ipv4_spans", ipv4_spans, METH_O, ipv4_spans_doc},
    {"families", families, METH_O, families_doc},
    {"literals", (PyCFunction)(void (*)(void))literals, METH_FASTCALL, literals_doc},
    {"user_matches", (PyCFunction)(void (*)(void))user_matches, METH_FASTCALL, user_matches_doc},
    {"email_spans", (PyCFunction)(void (*)(void))email_spans, METH_FASTCALL, email_spans_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ben_cli.scrub._scan",
    .m_doc = "Compiled scans of ben_cli.scrub; entities and prefilter hold their definitions in Python.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    build_probe_table();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *names = PyTuple_New(F_COUNT);
    if (names == NULL)
        goto fail;
    for (int k = 0; k < F_COUNT; k++) {
        PyObject *name = PyUnicode_FromString(family_names[k]);
        if (name == NULL) {
            Py_DECREF(names);
            goto fail;
        }
        PyTuple_SET_ITEM(names, k, name);
    }
    if (PyModule_AddObject(m, "FAMILIES", names) < 0) {
        Py_DECREF(names);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
