"""Normalise an arbitrary mapping (a JSON object, a logfmt line) into the record envelope.

Producers disagree on names: ``@timestamp`` or ``time``, ``msg`` or ``message``, ``host`` or
``service``. The first alias present (in the order below) fills the envelope field; every other
top-level field moves into ``attrs`` (flattened with dotted keys), and the reserved marks of other
stages (``anomaly``, ``redacted``, ``sig``, ``via``, ``_ingest``) stay where they are. Nothing is
dropped except JSON ``null`` values, which carry no value.

This runs once per ingested record, so it makes one pass over the object's keys with a table
lookup per key instead of probing every alias.
"""

from __future__ import annotations

import math

import orjson

from ben_cli.ingest.format import READ_TS, DecodeError, DecodeOptions
from ben_cli.record import LANES, RESERVED, TimestampError, format_ts, normalise_severity, normalise_ts

TS_ALIASES = ("ts", "@timestamp", "timestamp", "time", "datetime", "date", "@t")
BODY_ALIASES = ("body", "message", "msg", "log", "@m", "text")
SEVERITY_ALIASES = ("severity", "level", "lvl", "loglevel", "severity_text", "@l")
SOURCE_ALIASES = ("source", "host", "hostname", "service", "service.name", "app")
NAME_ALIASES = ("name", "event", "metric", "metric_name")
DEFAULT_NAME = "log"

_TS, _BODY, _SEV, _SOURCE, _NAME, _KEEP, _LANE, _VALUE, _UNIT, _ATTRS = range(10)
# key -> (role, rank): a lower rank wins when several aliases of one role are present
_ROLES: dict[str, tuple[int, int]] = {}
for _role, _aliases in ((_TS, TS_ALIASES), (_BODY, BODY_ALIASES), (_SEV, SEVERITY_ALIASES),
                        (_SOURCE, SOURCE_ALIASES), (_NAME, NAME_ALIASES)):
    for _rank, _alias in enumerate(_aliases):
        _ROLES[_alias] = (_role, _rank)
for _reserved in RESERVED:
    _ROLES[_reserved] = (_KEEP, 0)
_ROLES.update({"lane": (_LANE, 0), "value": (_VALUE, 0), "unit": (_UNIT, 0), "attrs": (_ATTRS, 0)})

_PLAIN = frozenset((str, int, bool))
_ROLE_TYPES = {_TS: (str, int, float), _BODY: None, _SEV: (str, int), _SOURCE: (str,), _NAME: (str,)}


def flatten_into(attrs: dict, key: str, value: object) -> None:
    """Put ``value`` under ``key`` in a flat attrs map: nested objects become dotted keys,
    lists become their JSON text, nulls are left out."""
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            flatten_into(attrs, f"{key}.{k}", v)
    elif isinstance(value, (list, tuple)):
        attrs[key] = orjson.dumps(value).decode()
    elif isinstance(value, float) and not math.isfinite(value):
        attrs[key] = str(value)
    else:
        attrs[key] = value


class Normaliser:
    """Turns mappings into envelopes under one set of ingest options."""

    def __init__(self, options: DecodeOptions):
        self.options = options
        self._now_ms = -1
        self._now_ts = ""
        self._plans: dict[tuple, _Plan | None] = {}

    def now(self) -> str:
        """The time of reading, formatted once per millisecond (formatting is the costly part)."""
        ms = self.options.clock() // 1_000_000
        if ms != self._now_ms:
            self._now_ms = ms
            self._now_ts = format_ts(ms * 1_000_000)
        return self._now_ts

    def normalise(self, obj: dict) -> dict:
        """The envelope for ``obj``; raises :class:`DecodeError` for a field that cannot be read.

        Records from one producer share their keys, so the mapping of keys to envelope fields is
        worked out once per key set (a "shape") and reused; any value of an unexpected type sends
        the record down the general path, which gives the same result.
        """
        keys = tuple(obj)
        plans = self._plans
        plan = plans.get(keys, _UNSEEN)
        if plan is _UNSEEN:
            plan = plans[keys] = _Plan.for_keys(keys) if len(plans) < _MAX_PLANS else None
        if plan is not None:
            out = plan.apply(obj, self)
            if out is not None:
                return out
        return self.normalise_general(obj)

    def normalise_general(self, obj: dict) -> dict:
        """The one-record-at-a-time mapping that defines the envelope; the shape plans imitate it."""
        found: dict[int, tuple[int, str, object]] = {}  # role -> (rank, key, value)
        attrs: dict = {}
        roles = _ROLES
        plain = _PLAIN
        for k, v in obj.items():
            role = roles.get(k)
            if role is not None:
                r = role[0]
                if r <= _NAME:  # an alias: keep the best-ranked usable one, the others go to attrs
                    if v == "" or not _usable(r, v):
                        flatten_into(attrs, k, v)
                        continue
                    prev = found.get(r)
                    if prev is None or role[1] < prev[0]:
                        if prev is not None:
                            flatten_into(attrs, prev[1], prev[2])
                        found[r] = (role[1], k, v)
                    else:
                        flatten_into(attrs, k, v)
                continue
            if type(v) in plain:
                attrs[k] = v
            else:
                flatten_into(attrs, k, v)
        return self._assemble(obj, found, attrs)

    def _assemble(self, obj: dict, found: dict, attrs: dict) -> dict:
        opts = self.options
        out: dict = {}
        ts = found.get(_TS)
        if ts is None:
            out["ts"] = self.now()
        else:
            try:
                out["ts"] = normalise_ts(ts[2], default_offset_s=opts.tz_offset_s)
            except TimestampError as exc:
                raise DecodeError(f"bad timestamp in field {ts[1]!r}: {exc}") from None

        lane = obj.get("lane")
        if lane is None:
            out["lane"] = opts.lane
        elif lane in LANES:
            out["lane"] = lane
        else:
            raise DecodeError(f"lane {lane!r} is not one of {', '.join(LANES)}")

        source = found.get(_SOURCE)
        if source is not None:
            out["source"] = source[2]
        elif opts.source is not None:
            out["source"] = opts.source
        name = found.get(_NAME)
        out["name"] = DEFAULT_NAME if name is None else name[2]

        value = obj.get("value")
        if value is not None:
            if type(value) is int or (type(value) is float and math.isfinite(value)):
                out["value"] = value
            else:
                raise DecodeError(f"field 'value' must be a finite number, got {orjson.dumps(value).decode()[:40]}")
        unit = obj.get("unit")
        if unit is not None:
            if type(unit) is not str:
                raise DecodeError("field 'unit' must be a string")
            out["unit"] = unit

        sev = found.get(_SEV)
        if sev is not None:
            severity = normalise_severity(sev[2])
            if severity is None:
                attrs[sev[1]] = sev[2]  # an unknown level word is kept, not guessed
            else:
                out["severity"] = severity
        body = found.get(_BODY)
        if body is not None:
            out["body"] = body[2] if type(body[2]) is str else orjson.dumps(body[2]).decode()

        given = obj.get("attrs")
        if given is not None:
            if type(given) is not dict:
                raise DecodeError("field 'attrs' must be an object")
            merged: dict = {}
            for k, v in given.items():
                flatten_into(merged, k, v)
            merged.update(attrs)
            attrs = merged
        if attrs:
            out["attrs"] = attrs
        for k in RESERVED:
            if k in obj:
                out[k] = obj[k]
        if ts is None:
            out["_ingest"] = READ_TS
        return out


def _usable(role: int, value: object) -> bool:
    types = _ROLE_TYPES[role]
    return types is None or (isinstance(value, types) and not isinstance(value, bool))



_MAX_PLANS = 1024
# level words already mapped ("info", "WARN"): a stream uses a handful, and the mapping is fixed
_SEVERITY_SEEN: dict[str, str] = {}


class _Plan:
    """How one key set maps onto the envelope, for records whose values have the usual types."""

    __slots__ = ("ts", "source", "name", "severity", "body", "attr_keys", "chosen")

    def __init__(self, ts: str | None, source: str | None, name: str | None, severity: str | None,
                 body: str | None, attr_keys: tuple[str, ...]):
        self.ts, self.source, self.name, self.severity, self.body = ts, source, name, severity, body
        self.attr_keys = attr_keys
        self.chosen = tuple(k for k in (ts, source, name, severity, body) if k is not None)

    @classmethod
    def for_keys(cls, keys: tuple) -> _Plan | None:
        best: dict[int, tuple[int, str]] = {}
        for k in keys:
            role = _ROLES.get(k)
            if role is None:
                continue
            if role[0] > _NAME:
                return None  # lane, value, unit, attrs or reserved marks: the general path
            prev = best.get(role[0])
            if prev is None or role[1] < prev[0]:
                best[role[0]] = (role[1], k)
        chosen = {k for _, k in best.values()}
        pick = {role: k for role, (_, k) in best.items()}
        return cls(pick.get(_TS), pick.get(_SOURCE), pick.get(_NAME), pick.get(_SEV), pick.get(_BODY),
                   tuple(k for k in keys if k not in chosen))

    def apply(self, obj: dict, normaliser: Normaliser) -> dict | None:
        """The envelope, or None when a value is not of the type this plan assumes. ``obj`` is
        the decoder's own, made for this call: once every check has passed, it becomes the
        envelope's ``attrs`` itself (the envelope fields taken out of it, the other keys in
        their order), which spares building a second dict per record."""
        opts = normaliser.options
        out: dict = {}
        if self.ts is None:
            out["ts"] = normaliser.now()
            out["_ingest"] = READ_TS  # the core moves its mark to the end
        else:
            v = obj[self.ts]
            if type(v) is not str or not v:
                return None
            try:
                out["ts"] = normalise_ts(v, default_offset_s=opts.tz_offset_s)
            except TimestampError:
                return None
        out["lane"] = opts.lane
        if self.source is not None:
            v = obj[self.source]
            if type(v) is not str or not v:
                return None
            out["source"] = v
        elif opts.source is not None:
            out["source"] = opts.source
        if self.name is not None:
            v = obj[self.name]
            if type(v) is not str or not v:
                return None
            out["name"] = v
        else:
            out["name"] = DEFAULT_NAME
        if self.severity is not None:
            v = obj[self.severity]
            severity = _SEVERITY_SEEN.get(v) if type(v) is str else None
            if severity is None:
                severity = normalise_severity(v)
                if severity is None:
                    return None
                if type(v) is str and len(_SEVERITY_SEEN) < 256:
                    _SEVERITY_SEEN[v] = severity
            out["severity"] = severity
        if self.body is not None:
            v = obj[self.body]
            if type(v) is not str or not v:
                return None
            out["body"] = v
        if self.attr_keys:
            # every value plain (the envelope fields taken above are strings, or a level's number)
            if not _PLAIN.issuperset(map(type, obj.values())):
                return None
            for k in self.chosen:
                del obj[k]
            out["attrs"] = obj
        return out


_UNSEEN = _Plan(None, None, None, None, None, ())  # a key set not planned yet (a plan itself, for the type)
