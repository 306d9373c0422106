"""Text to tree: a hand-written lexer and recursive-descent parser for ``.ben`` contracts.

Hand-written rather than generated so that every error names the token it stopped at (line,
column, width) in words a producer understands, and so that ``ben ingest`` pays no import for a
parser toolkit. The grammar (in EBNF in deepdives/contracts.md)::

    contract  = [ "contract" name { "version" INT | "window" DURATION } ] { lane } ;
    lane      = "lane" NAME [ "signed" ] "{" { kind } "}" ;
    kind      = "kind" name { "window" DURATION | "closed" } "{" { rule } "}" ;
    rule      = ( "field" | "attr" ) name ":" type { modifier } ;
    type      = NAME [ "(" value { "," value } ")" ] ;
    modifier  = "required" | "optional" | "range" [ NUMBER ] ".." [ NUMBER ]
              | "unit" name | "pattern" STRING | "maxlen" INT | "cardinality" INT
              | "pii" NAME | "deprecated" [ "since" INT ] [ "use" name ] ;

Tokens may be spread over lines as you like; ``#`` starts a comment to the end of the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ben_cli.contract.errors import ContractError, did_you_mean
from ben_cli.contract.tree import Contract, Kind, Lane, Pos, Rule, TypeRef

MODIFIERS = ("required", "optional", "range", "unit", "pattern", "maxlen", "cardinality", "pii", "deprecated")
KEYWORDS = ("contract", "version", "window", "lane", "signed", "kind", "closed", "field", "attr")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:[.\-*?][A-Za-z0-9_*?]+|[*?])*|[*?][A-Za-z0-9_.*?\-]*"  # a bare word: names, dotted names, globs
_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n\f\v]+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<badstring>"(?:[^"\\\n]|\\.)*)
  | (?P<number>-?\d+(?:\.\d+)?[eE][+-]?\d+(?![A-Za-z0-9_])|-?\d+(?:\.\d+)?(?![A-Za-z0-9_])(?!\.(?!\.)))
  | (?P<duration>\d+(?:\.\d+)?[a-zµ]+(?:\d+(?:\.\d+)?[a-zµ]+)*(?![A-Za-z0-9_.]))
  | (?P<name>""" + _NAME + r""")
  | (?P<punct>\.\.|[{}():,])
""", re.VERBOSE)
# \" \\ \n \t are escapes; any other backslash stays, so patterns read as written ("^/\d+")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass
class Token:
    kind: str  # string, number, duration, name, punct, end
    text: str
    pos: Pos

    @property
    def value(self) -> str:
        if self.kind != "string":
            return self.text
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), self.text[1:-1])


def tokenize(source: str, file: str = "<contract>", comments: list[Token] | None = None) -> list[Token]:
    """The tokens of ``source``, ending with an ``end`` token; raises :class:`ContractError` at
    the first character that starts no token. Comments go to ``comments`` when it is given."""
    tokens: list[Token] = []
    line, line_start, i = 1, 0, 0
    n = len(source)
    while i < n:
        m = _TOKEN.match(source, i)
        col = i - line_start + 1
        if m is None or m.lastgroup == "badstring":
            if m is not None:
                raise ContractError("a string that never ends (a \" is missing on this line)",
                                    Pos(line, col, m.end() - i), file, source)
            raise ContractError(f"unexpected character {source[i]!r}", Pos(line, col), file, source)
        text = m.group()
        if text[0] == "#":
            if comments is not None:
                comments.append(Token("comment", text.rstrip(), Pos(line, col, len(text))))
        elif m.lastgroup != "ws":
            tokens.append(Token(m.lastgroup or "", text, Pos(line, col, len(text))))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = i + text.rindex("\n") + 1
        i = m.end()
    tokens.append(Token("end", "", Pos(line, n - line_start + 1)))
    return tokens


class Parser:
    def __init__(self, source: str, file: str = "<contract>"):
        self.source = source
        self.file = file
        self.comments: list[Token] = []
        self.tokens = tokenize(source, file, self.comments)
        self.i = 0

    # -- the token stream ------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> ContractError:
        tok = tok or self.tok
        return ContractError(message, tok.pos, self.file, self.source)

    def next(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def at(self, text: str) -> bool:
        return self.tok.kind in ("name", "punct") and self.tok.text == text

    def expect(self, text: str, what: str | None = None) -> Token:
        if not self.at(text):
            raise self.error(f"expected {what or repr(text)}, found {self.describe(self.tok)}")
        return self.next()

    @staticmethod
    def describe(tok: Token) -> str:
        return "the end of the file" if tok.kind == "end" else repr(tok.text)

    def name(self, what: str, strings: bool = True) -> Token:
        tok = self.tok
        if tok.kind == "name" or (strings and tok.kind == "string"):
            return self.next()
        raise self.error(f"expected {what}, found {self.describe(tok)}")

    def integer(self, what: str) -> tuple[int, Token]:
        tok = self.tok
        if tok.kind == "number" and re.fullmatch(r"\d+", tok.text):
            self.next()
            return int(tok.text), tok
        raise self.error(f"expected {what} (a whole number), found {self.describe(tok)}")

    def number(self) -> int | float:
        tok = self.next()
        text = tok.text
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)

    def duration(self) -> Token:
        tok = self.tok
        if tok.kind in ("duration", "number"):
            return self.next()
        raise self.error(f"expected a duration (90s, 5m, 1h), found {self.describe(tok)}")

    # -- the grammar -----------------------------------------------------------------------------

    def contract(self) -> Contract:
        out = Contract(file=self.file, pos=self.tok.pos)
        if self.at("contract"):
            self.next()
            tok = self.name("the contract's name")
            out.name, out.at["name"] = tok.value, tok.pos
            while self.at("version") or self.at("window"):
                word = self.next()
                if word.text == "version":
                    out.version, tok = self.integer("a version")
                else:
                    tok = self.duration()
                    out.window = tok.text
                out.at[word.text] = tok.pos
        while not self.tok.kind == "end":
            if not self.at("lane"):
                hint = did_you_mean(self.tok.text, ["lane", "contract"]) if self.tok.kind == "name" else ""
                raise self.error(f"expected 'lane', found {self.describe(self.tok)}{hint}")
            out.lanes.append(self.lane())
        return out

    def lane(self) -> Lane:
        self.next()
        tok = self.name("a lane (diag, event or control)", strings=False)
        lane = Lane(tok.text, pos=tok.pos)
        if self.at("signed"):
            lane.signed, lane.at["signed"] = True, self.next().pos
        self.expect("{", "'{' to open the lane (or 'signed')")
        while not self.at("}"):
            if not self.at("kind"):
                hint = did_you_mean(self.tok.text, ["kind"]) if self.tok.kind == "name" else ""
                raise self.error(f"expected 'kind' or '}}', found {self.describe(self.tok)}{hint}")
            lane.kinds.append(self.kind())
        lane.end = self.next().pos
        return lane

    def kind(self) -> Kind:
        self.next()
        tok = self.name("a record name or glob (http.request, \"http.*\")")
        kind = Kind(tok.value, pos=tok.pos)
        while self.at("window") or self.at("closed"):
            word = self.next()
            if word.text == "closed":
                kind.closed, kind.at["closed"] = True, word.pos
            else:
                tok = self.duration()
                kind.window, kind.at["window"] = tok.text, tok.pos
        if not self.at("{") and self.tok.kind == "name":
            raise self.error(f"expected '{{' to open the kind, found {self.describe(self.tok)}"
                             f"{did_you_mean(self.tok.text, ['window', 'closed'])}")
        self.expect("{", "'{' to open the kind")
        while not self.at("}"):
            if not (self.at("field") or self.at("attr")):
                hint = did_you_mean(self.tok.text, ["field", "attr"]) if self.tok.kind == "name" else ""
                raise self.error(f"expected 'field', 'attr' or '}}', found {self.describe(self.tok)}{hint}")
            kind.rules.append(self.rule())
        kind.end = self.next().pos
        return kind

    def rule(self) -> Rule:
        scope = self.next()
        tok = self.name(f"the {scope.text}'s name")
        self.expect(":", "':' and a type after the name")
        rule = Rule(scope.text, tok.value, self.type(), pos=tok.pos)
        while self.tok.kind == "name" and self.tok.text not in ("field", "attr"):
            self.modifier(rule)
        if not (self.at("}") or self.at("field") or self.at("attr")):
            raise self.error(f"expected a modifier ({', '.join(MODIFIERS)}), 'field', 'attr' or '}}', "
                             f"found {self.describe(self.tok)}")
        return rule

    def type(self) -> TypeRef:
        tok = self.name("a type (string, int, float, bool, time, enum, ip, duration)", strings=False)
        ref = TypeRef(tok.text, pos=tok.pos)
        if self.at("("):
            self.next()
            values: list[str | int | float] = []
            while True:
                value = self.tok
                if value.kind == "number":
                    values.append(self.number())
                elif value.kind in ("name", "string"):
                    values.append(self.next().value)
                else:
                    raise self.error(f"expected a value of the enum, found {self.describe(value)}")
                if self.at(")"):
                    break
                self.expect(",", "',' or ')' in the enum's values")
            self.next()
            ref.values = tuple(values)
        return ref

    def modifier(self, rule: Rule) -> None:
        word = self.next()
        text = word.text
        if text in rule.at and text not in ("required", "optional"):
            raise self.error(f"{text!r} given twice for {rule.path}", word)
        if text in ("required", "optional"):
            rule.required = text == "required"
            rule.at["required"] = word.pos
            return
        rule.at[text] = word.pos
        if text == "range":
            rule.has_range = True
            if self.tok.kind == "number":
                rule.low = self.number()
            self.expect("..", "'..' in the range (0..100, 0.., ..100)")
            if self.tok.kind == "number":
                rule.high = self.number()
            if rule.low is None and rule.high is None:
                raise self.error("a range needs at least one end (0..100, 0.., ..100)", word)
        elif text == "unit":
            rule.unit = self.name("a unit (ms, s, By, %)").value
        elif text == "pattern":
            if self.tok.kind != "string":
                raise self.error(f"expected a regular expression in quotes, found {self.describe(self.tok)}")
            tok = self.next()
            rule.pattern, rule.at["pattern"] = tok.value, tok.pos  # a fault in it is shown under it
        elif text == "maxlen":
            rule.maxlen, _ = self.integer("a maximum length")
        elif text == "cardinality":
            rule.cardinality, _ = self.integer("a cardinality limit")
        elif text == "pii":
            tok = self.name("a kind of personal data (email, ip, phone, ...)", strings=False)
            rule.pii, rule.at["pii"] = tok.text, tok.pos
        elif text == "deprecated":
            rule.deprecated = True
            if self.at("since"):
                self.next()
                rule.since, _ = self.integer("the version it was deprecated in")
            if self.at("use"):
                self.next()
                rule.use = self.name("what to use instead").value
        else:
            raise self.error(f"unknown modifier {text!r}{did_you_mean(text, MODIFIERS)}", word)


def parse(source: str, file: str = "<contract>") -> Contract:
    """The tree of ``source`` (syntax only; :func:`ben_cli.contract.check.check` judges meaning).
    Raises :class:`ContractError` at the first token that does not fit the grammar."""
    parser = Parser(source, file)
    contract = parser.contract()
    contract.comments = [(c.pos.line, c.pos.col, c.text) for c in parser.comments]
    return contract


NAME = re.compile(_NAME)
