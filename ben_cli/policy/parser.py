"""Text to tree for policies, on the contract language's lexer and token-stream helpers.

The same tokens (names with dots, dashes and globs, strings, numbers, durations), the same
positions and the same error format as ``.ben`` contracts; only the grammar is new::

    policy   = "policy" name { "version" INT | "default" ( "allow" | "deny" ) } { personal } { rule } ;
    personal = "personal" ( "from" STRING | name { "," name } ) ;
    rule     = "rule" name ":" action [ "if" test { "and" test } ] ;
    action   = "allow" | "deny"
             | "limit" INT "per" DURATION [ "burst" INT ] [ "by" key { "," key } ] [ "clock" ( "event" | "wall" ) ]
             | "alert" "over" INT "within" DURATION [ "by" key { "," key } ] ;
    key      = "identity" | "source" | "name" | "lane" ;
    test     = [ "not" ] ( ( "from" | "group" | "lane" | "name" | "source" | "to" ) name { "," name }
                         | "value" ( "over" | "under" ) NUMBER | "has" name { "," name } | "unredacted" ) ;

``#`` starts a comment to the end of the line; line breaks are free.
"""

from __future__ import annotations

from ben_cli.contract.errors import ContractError
from ben_cli.contract.parser import Parser as ContractParser
from ben_cli.contract.parser import Token
from ben_cli.policy.errors import PolicyError, did_you_mean
from ben_cli.policy.tree import ACTIONS, CLOCKS, KEYS, TESTS, Action, Personal, Policy, Rule, Test
from ben_cli.units import parse_duration

HEADER = ("version", "default")


class Parser(ContractParser):
    """The contract's token stream (``tok``, ``next``, ``at``, ``expect``, ``name``, ...) with
    the policy's grammar on top."""

    def error(self, message: str, tok: Token | None = None) -> ContractError:
        tok = tok or self.tok
        return PolicyError(message, tok.pos, self.file, self.source)

    def hint(self, choices: tuple[str, ...] | list[str]) -> str:
        return did_you_mean(self.tok.text, choices) if self.tok.kind == "name" else ""

    def policy(self) -> Policy:
        out = Policy(file=self.file, pos=self.tok.pos)
        if not self.at("policy"):
            raise self.error(f"expected 'policy' and its name, found {self.describe(self.tok)}{self.hint(['policy'])}")
        self.next()
        tok = self.name("the policy's name")
        out.name, out.at["name"] = tok.value, tok.pos
        while self.at("version") or self.at("default"):
            word = self.next()
            if word.text == "version":
                out.version, tok = self.integer("a version")
            else:
                tok = self.tok
                if not (tok.kind == "name" and tok.text in ("allow", "deny")):
                    raise self.error(f"expected 'allow' or 'deny' after 'default', found {self.describe(tok)}"
                                     f"{self.hint(['allow', 'deny'])}")
                out.default = self.next().text
            out.at[word.text] = tok.pos
        if not out.default:
            raise self.error("a policy needs an explicit default: 'default allow' or 'default deny' after its name"
                             f"{self.hint(HEADER) if self.tok.kind == 'name' and self.tok.text not in ('rule', 'personal') else ''}")
        while self.at("personal"):
            self.personal(out)
        while self.tok.kind != "end":
            if not self.at("rule"):
                raise self.error(f"expected 'rule', found {self.describe(self.tok)}{self.hint(['rule', 'personal'])}")
            out.rules.append(self.policy_rule())
        return out

    def personal(self, out: Policy) -> None:
        word = self.next()
        if self.at("from"):
            self.next()
            if self.tok.kind != "string":
                raise self.error(f"expected a contract's file name in quotes, found {self.describe(self.tok)}")
            tok = self.next()
            out.contracts.append((tok.value, tok.pos))
            return
        paths = [self.name("a field (user, attrs.email)").value]
        while self.at(","):
            self.next()
            paths.append(self.name("a field (user, attrs.email)").value)
        out.personal.append(Personal(tuple(paths), pos=word.pos))

    def policy_rule(self) -> Rule:
        self.next()
        tok = self.name("the rule's name")
        self.expect(":", "':' and an action (allow, deny, limit, alert) after the rule's name")
        rule = Rule(tok.value, self.action(), pos=tok.pos)
        if self.at("if"):
            self.next()
            rule.tests.append(self.test())
            while self.at("and"):
                self.next()
                rule.tests.append(self.test())
        if not (self.at("rule") or self.tok.kind == "end"):
            expected = "'and', 'rule'" if rule.tests else "'if', 'rule'"
            raise self.error(f"expected {expected} or the end of the file, found {self.describe(self.tok)}"
                             f"{self.hint(['and', 'if', 'rule', 'burst', 'by', 'clock'])}")
        return rule

    def action(self) -> Action:
        tok = self.tok
        if not (tok.kind == "name" and tok.text in ACTIONS):
            raise self.error(f"expected an action ({', '.join(ACTIONS)}), found {self.describe(tok)}{self.hint(ACTIONS)}")
        self.next()
        action = Action(tok.text)
        if tok.text == "limit":
            action.count, _ = self.integer("how many records")
            self.expect("per", "'per' and a duration (limit 100 per 1s)")
            action.per_text, action.per = self.seconds()
            action.burst = action.count
            if self.at("burst"):
                self.next()
                action.burst, where = self.integer("the burst (the bucket's size)")
                if action.burst < 1:
                    raise self.error("a burst of 0 lets nothing through: give at least 1", where)
            action.by = self.keys()
            if self.at("clock"):
                self.next()
                if not (self.tok.kind == "name" and self.tok.text in CLOCKS):
                    raise self.error(f"expected 'event' or 'wall', found {self.describe(self.tok)}{self.hint(CLOCKS)}")
                action.clock = self.next().text
        elif tok.text == "alert":
            self.expect("over", "'over' and a count (alert over 5 within 1m)")
            action.count, _ = self.integer("the threshold")
            self.expect("within", "'within' and a duration (alert over 5 within 1m)")
            action.per_text, action.per = self.seconds()
            action.by = self.keys()
        return action

    def seconds(self) -> tuple[str, float]:
        tok = self.duration()
        try:
            seconds = parse_duration(tok.text)
        except ValueError as exc:
            raise self.error(f"not a duration: {exc}", tok) from None
        if seconds <= 0:
            raise self.error("the duration must be longer than 0", tok)
        return tok.text, seconds

    def keys(self) -> tuple[str, ...]:
        if not self.at("by"):
            return ()
        self.next()
        keys: list[str] = []
        while True:
            tok = self.tok
            if not (tok.kind == "name" and tok.text in KEYS):
                raise self.error(f"expected what to count by ({', '.join(KEYS)}), found {self.describe(tok)}"
                                 f"{self.hint(KEYS)}")
            keys.append(self.next().text)
            if not self.at(","):
                return tuple(keys)
            self.next()

    def test(self) -> Test:
        start = self.tok
        negated = self.at("not")
        if negated:
            self.next()
        tok = self.tok
        if not (tok.kind == "name" and tok.text in TESTS):
            raise self.error(f"expected a test ({', '.join(TESTS)}), found {self.describe(tok)}{self.hint(TESTS)}")
        self.next()
        test = Test(tok.text, negated=negated, pos=start.pos)
        if tok.text == "value":
            if not (self.at("over") or self.at("under")):
                raise self.error(f"expected 'over' or 'under' after 'value', found {self.describe(self.tok)}"
                                 f"{self.hint(['over', 'under'])}")
            test.op = self.next().text
            if self.tok.kind != "number":
                raise self.error(f"expected a number, found {self.describe(self.tok)}")
            test.number = float(self.number())
        elif tok.text != "unredacted":
            what = "a field (user, attrs.email)" if tok.text == "has" else f"a {tok.text} (a name or a glob)"
            values = [self.name(what).value]
            while self.at(","):
                self.next()
                values.append(self.name(what).value)
            test.values = tuple(values)
        return test


def parse(source: str, file: str = "<policy>") -> Policy:
    """The tree of ``source`` (syntax only; :func:`ben_cli.policy.check.check` judges meaning).
    Raises :class:`PolicyError` at the first token that does not fit the grammar."""
    try:
        return Parser(source, file).policy()
    except PolicyError:
        raise
    except ContractError as exc:  # the shared lexer's faults, in the policy's own class
        raise PolicyError(exc.message, exc.pos, file, source) from None
