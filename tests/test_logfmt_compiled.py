"""The compiled logfmt tokenizer (ben_cli/ingest/_logfmt.c) against its definition in Python.

``parse_python`` is the definition; the C ``parse`` must give the same dict (same keys in the same
order, same values with the same JSON types) or the same DecodeError with the same message, for
any text at all. The strategies lean on what tokenizers get wrong: quotes, backslashes before
quotes and newlines, '=', whitespace that is whitespace only to Unicode, number-like text.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli.ingest import logfmt
from ben_cli.ingest.format import DecodeOptions
from ben_cli.ingest.logfmt import parse_logfmt, parse_python
from tests.test_ingest_fast_paths import numberish, outcome, same

MANY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# the generated pairs and lines cost more to draw than to parse: fewer of them, same ~10 s budget
SOME = settings(MANY, max_examples=1000)

# characters that steer the tokenizer, and whitespace by Unicode's reckoning (\s of a str pattern)
SPECIAL = list(' \t\n\r\x0b\x0c=="""\\\\\\-.eE+0123456789\x00') + [
    "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u3000", "\u200b", "\ufeff",
    "\u0663", "\uff11", "\U0001d7ce", "é", "ß", "\U0001f600", "true", "false", "a", "k", "n", "t"]
hostile = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(), numberish), max_size=30).map("".join)


def test_the_compiled_tokenizer_is_built_and_used():
    from ben_cli.ingest import _logfmt

    assert logfmt.COMPILED
    assert parse_logfmt is _logfmt.parse
    decoder = logfmt.LogfmtDecoder(DecodeOptions())
    assert decoder._parse is _logfmt.parse


def test_an_install_without_the_compiled_module_ingests_the_same(tmp_path):
    """The fallback end to end: a ben whose _logfmt cannot be imported (as after an install without a
    C compiler) writes the same records and rejects the same lines."""
    lines = ['ts=2026-11-25T10:00:00Z level=info host=web-1 msg="a \\"b\\"" n=1 f=2.5 ok=true flag',
             'ts=2026-11-25T10:00:01Z level=warn host=web-2 msg=plain n=007 \u00e9=\u2003x', '=junk here',
             'ts=2026-11-25T10:00:02Z msg="open', "ts=2026-11-25T10:00:03Z a=1 a=2 xb= b", ""] * 3
    path = tmp_path / "app.logfmt"
    path.write_text("\n".join(lines) + "\n")
    blocked = "import sys; sys.modules['ben_cli.ingest._logfmt'] = None; "
    outputs = []
    for prelude in ("", blocked):
        script = prelude + ("import ben_cli.ingest.logfmt as m; print(m.COMPILED, file=sys.stderr); "
                            "from ben_cli.commands._root import main; main()")
        rejects = tmp_path / f"rejects{len(outputs)}"
        done = subprocess.run([sys.executable, "-c", "import sys; " + script, "ingest", "-f", "logfmt",
                               "--rejects", str(rejects), str(path)], capture_output=True,
                              env={**os.environ, "BEN_LOAD_PLUGINS": ""})
        outputs.append((done.returncode, done.stdout, rejects.read_bytes(), done.stderr.splitlines()[0]))
    (code, out, rej, compiled), (code2, out2, rej2, fallback) = outputs
    assert (compiled, fallback) == (b"True", b"False")
    assert (code2, out2, rej2) == (code, out, rej)
    assert out.count(b"\n") == 9 and rej.count(b"\n") == 6


@MANY
@given(hostile)
def test_any_text_reads_as_the_definition_reads_it(text):
    compiled, python = outcome(parse_logfmt, text), outcome(parse_python, text)
    assert compiled[0] == python[0] and same(compiled[1], python[1]), (compiled, python)


pieces = st.lists(st.sampled_from(SPECIAL), max_size=6).map("".join)
pair_text = st.tuples(pieces.filter(bool), st.sampled_from(["=", "=", '="', "", " "]), pieces | numberish,
                      st.sampled_from(['"', " ", "\u2003", ""])).map("".join)


@SOME
@given(st.lists(pair_text, min_size=1, max_size=8).map(" ".join))
def test_near_pairs_read_as_the_definition_reads_them(text):
    compiled, python = outcome(parse_logfmt, text), outcome(parse_python, text)
    assert compiled[0] == python[0] and same(compiled[1], python[1]), (compiled, python)


# keys shared by the lines of a stream, in 1-, 2- and 4-byte str widths, one a prefix of another
shared_keys = st.sampled_from(["k", "ke", "key", "\u00e9t\u00e9", "\u2160", "\U0001f600", "k\u2003"])
stream_line = st.lists(st.tuples(shared_keys, st.sampled_from(["=1", '="x"', "=", "", "=\u2003", '="\u2003"']),
                                 ).map("".join), min_size=1, max_size=5).map(" ".join)


@SOME
@given(st.lists(stream_line, min_size=1, max_size=6))
def test_streams_whose_lines_share_keys_read_as_the_definition_reads_them(lines):
    # the compiled parser hands out the previous line's key objects when the text matches
    for text in lines:
        compiled, python = outcome(parse_logfmt, text), outcome(parse_python, text)
        assert compiled[0] == python[0] and same(compiled[1], python[1]), (text, compiled, python)


key_text = st.text(st.characters(blacklist_categories=("Cs",)).filter(lambda c: not c.isspace() and c not in '="'),
                   min_size=1, max_size=8)
value = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.integers(-(10**18) + 1, 10**18 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


def encode(v: object) -> str:
    """A value as a logfmt writer writes it: text always quoted, with backslash escapes."""
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return '"' + escaped.replace("\r", "\\r") + '"'
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


@SOME
@given(st.dictionaries(key_text, value, min_size=1, max_size=8),
       st.sampled_from([" ", "  ", "\t", " \u00a0"]))
def test_written_logfmt_reads_back_to_its_values(pairs, sep):
    line = sep.join(f"{k}={encode(v)}" for k, v in pairs.items())
    assert same(parse_logfmt(line), pairs)


def test_edges_of_the_definition():
    # a flag is True even where another key ends in its name followed by "="; key= is ""
    assert same(parse_logfmt("xb= b"), {"xb": "", "b": True})
    assert same(parse_logfmt('b a b= c=""'), {"b": "", "a": True, "c": ""})
    # a backslash before a newline escapes nothing, so the quote never closes
    assert outcome(parse_logfmt, 'a="\\\n"') == ("error", "not a key=value pair: '\"\\\\'")
    # a later duplicate wins but keeps the first one's place
    assert list(parse_logfmt("a=1 b=2 a=3").items()) == [("a", 3), ("b", 2)]
    # numbers are ASCII digits only: other scripts' digits stay text
    assert same(parse_logfmt("n=1\u0663 m=\u0663 f=1.\u0663"), {"n": "1\u0663", "m": "\u0663", "f": "1.\u0663"})
    assert same(parse_logfmt("i=123456789012345678 f=1234567890123456789 o=007 h=1e999"),
                {"i": 123456789012345678, "f": 1234567890123456789.0, "o": "007", "h": "1e999"})
    assert outcome(parse_logfmt, "a=1 " + "=" * 50) == ("error", "not a key=value pair: " + repr("=" * 40))
    assert outcome(parse_logfmt, " \u2003\x1c ") == ("error", "no key=value pairs")


def test_parsing_leaks_no_memory_or_references():
    lines = ['a=1 b="x\\"y" c d= e=1.5 f=true', 'a="open', "=junk", "", "flag other=", "n=1\u0663 \u00e9=\u00e9"]
    for line in lines * 100:  # warm every cache first
        outcome(parse_logfmt, line)
    true_refs = sys.getrefcount(True)  # a flag's value: a lost reference would show 5,000 times
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for line in lines * 5000:
            outcome(parse_logfmt, line)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown
    assert abs(sys.getrefcount(True) - true_refs) < 100
