"""``ben ingest`` on the logs people really have (issue 15): syslog as daemons write it to files,
sniffing on a sample, time never invented in silence, inputs read as ``cat`` reads them.

Samples are written from each layout's documentation: rsyslog's RSYSLOG_TraditionalFileFormat
(``%TIMESTAMP% %HOSTNAME% %syslogtag%%msg%``) and RSYSLOG_FileFormat (``%TIMESTAMP:::date-rfc3339%``,
Debian 12's and Ubuntu's default), syslog-ng's ``ts-format(iso)``, Linux-PAM's
``sshd(pam_unix)[pid]`` tag of old sysklogd servers.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ben_cli import registry
from ben_cli.ingest import DecodeOptions, sniff_format
from ben_cli.ingest.format import parse_tz
from ben_cli.ingest.sniff import Binary, sniff

from .conftest import run_ben

FIXED = 1_795_600_000_123_000_000  # 2026-11-25T09:46:40.123Z
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PAM_SERVER = b"""\
Mar  2 07:41:19 gw2 sshd(pam_unix)[8812]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.77
Mar  2 07:41:19 gw2 sshd(pam_unix)[8812]: check pass; user unknown
Mar  2 07:41:20 gw2 syslogd 1.4.1: restart.
Mar  2 07:41:20 gw2 klogd 1.4.1, log source = /proc/kmsg started.
Mar  2 07:41:21 gw2 sshd[8813]: Failed password for root from 203.0.113.9 port 22 ssh2
Mar  2 07:41:22 gw2 su(pam_unix)[8900]: session opened for user news by (uid=0)
"""


def decode_all(name: str, lines: list[bytes], **opts) -> list[dict]:
    d = registry.formats.get(name).make_decoder(DecodeOptions(clock=lambda: FIXED, **opts))
    out: list[dict] = []
    for line in lines:
        got = d.decode(line)
        out.extend([got] if isinstance(got, dict) else got)
    return out


# --- sniffing ---------------------------------------------------------------------------------

def test_a_pam_server_log_is_syslog_not_logfmt():
    assert sniff_format(PAM_SERVER).name == "syslog"
    assert sniff_format(PAM_SERVER.splitlines(keepends=True)[0]).name == "syslog"


def test_logfmt_only_when_most_words_are_pairs():
    assert sniff_format(b"user logged in uid=0 euid=0 from somewhere far away today\n").name == "lines"
    assert sniff_format(b'ts=2026-11-25T10:00:00Z level=info msg="a b c d e f" user=x\n').name == "logfmt"


@pytest.mark.parametrize("sample", [
    b"2026-12-04T17:30:01.123456+01:00 web-1 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)\n",
    b"2026-12-04T17:30:01+01:00 web-1 systemd[1]: Started session 3.\n",
    b"2026-12-04T17:30:01Z web-1 kernel: [ 0.000000] Linux version 6.1.0\n",
    b"1131566461 2005.11.09 dn228 Nov  9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: session closed\n",
])
def test_file_layouts_of_syslog_daemons_are_sniffed_as_syslog(sample):
    assert sniff_format(sample).name == "syslog"


def test_an_application_log_starting_with_a_stamp_is_not_syslog():
    assert sniff_format(b"2026-12-04T17:30:01Z INFO main: started\n").name == "lines"


def test_a_first_ndjson_record_over_the_sample_is_still_ndjson():
    big = b'{"msg":"' + b"x" * 100_000 + b'"}\n{"msg":"y"}\n'
    got = sniff(big[:65536])
    assert got.format.name == "ndjson" and got.partial


def test_the_sample_is_many_lines_not_the_first_alone():
    sample = b"starting up\n" + b'{"msg":"a"}\n' * 3 + b"x\n" + b'{"msg":"b"}\n' * 30
    assert sniff(sample).lines == 35


@pytest.mark.parametrize("data, why", [
    (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4, "NUL byte at offset 7"),
    (bytes(range(1, 32)) * 40, "are not text"),
])
def test_binary_input_is_refused_with_the_reason(data, why):
    with pytest.raises(Binary, match=why):
        sniff(data)


# --- syslog as daemons write it ---------------------------------------------------------------

def test_rsyslog_file_format_reads_host_program_pid():
    (rec,) = decode_all("syslog", [b"2026-12-04T17:30:01.123456+01:00 web-1 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)"])
    assert rec["ts"] == "2026-12-04T16:30:01.123456Z"
    assert (rec["source"], rec["name"], rec["attrs"]["procid"]) == ("web-1", "CRON", "1234")
    assert rec["body"] == "(root) CMD (run-parts /etc/cron.hourly)"
    assert "_ingest" not in rec  # a time of its own


def test_rsyslog_traditional_format_and_pam_components():
    recs = decode_all("syslog", PAM_SERVER.splitlines(), tz=UTC)
    assert [r["ts"] for r in recs[:2]] == ["2026-03-02T07:41:19Z"] * 2
    first = recs[0]
    assert (first["source"], first["name"], first["attrs"]["component"], first["attrs"]["procid"]) == \
        ("gw2", "sshd", "pam_unix", "8812")
    assert first["body"].startswith("authentication failure; logname= uid=0")
    klogd = recs[3]
    assert klogd["source"] == "gw2" and klogd["body"] == "klogd 1.4.1, log source = /proc/kmsg started."
    assert recs[4]["body"] == "Failed password for root from 203.0.113.9 port 22 ssh2"


def test_a_zone_less_rfc3339_stamp_takes_tz():
    (rec,) = decode_all("syslog", [b"2026-07-04T17:30:01 web-1 app[1]: hi"], tz=parse_tz("Europe/Paris"))
    assert rec["ts"] == "2026-07-04T15:30:01Z"  # summer time: +02:00


def test_syslog_behind_a_prefix_keeps_it_and_takes_its_year():
    (rec,) = decode_all("syslog", [b"1131566461 2005.11.09 dn228 Nov  9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: "
                                   b"session closed for user root"], tz=UTC)
    assert rec["ts"] == "2005-11-09T12:01:01Z"
    assert rec["attrs"]["prefix"] == "1131566461 2005.11.09 dn228"
    assert (rec["source"], rec["name"], rec["attrs"]["procid"]) == ("dn228/dn228", "crond", "2915")
    assert rec["body"] == "session closed for user root"


_HOST = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
_PROG = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_MSG = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=60)


@FAST
@given(_HOST, _PROG, st.integers(1, 4_000_000), _MSG,
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)), st.booleans())
def test_property_syslog_file_lines_give_back_their_fields(host, prog, pid, msg, when, iso):
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ") if iso else when.strftime("%b %e %H:%M:%S")
    line = f"{stamp} {host} {prog}[{pid}]: {msg}".encode()
    clock = int(when.replace(tzinfo=UTC).timestamp()) * 1_000_000_000
    d = registry.formats.get("syslog").make_decoder(DecodeOptions(clock=lambda: clock, tz=UTC))
    rec = d.decode(line)
    assert (rec["source"], rec["name"], rec["attrs"]["procid"], rec["body"]) == (host, prog, str(pid), msg)
    assert rec["ts"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- time never invented in silence ------------------------------------------------------------

def test_records_without_their_own_time_are_marked_and_counted(tmp_path):
    (tmp_path / "a.ndjson").write_bytes(b'{"msg":"no time"}\n{"ts":"2026-11-25T10:00:00Z","msg":"timed"}\n')
    (tmp_path / "m.prom").write_bytes(b"# TYPE up gauge\nup 1\nup 1 1795600000000\n")
    done = run_ben("ingest", str(tmp_path / "a.ndjson"), str(tmp_path / "m.prom"))
    out = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [r["_ingest"].get("ts") for r in out] == ["read", None, "read", None]
    assert b"2 records without a time of their own" in done.stderr
    assert done.returncode == 0


def test_require_ts_rejects_them_instead(tmp_path):
    rejects = tmp_path / "rej.ndjson"
    done = run_ben("ingest", "--require-ts", "--rejects", str(rejects), "--format", "lines",
                   input=b"2026-11-25T10:00:00Z ERROR disk\nno time here\n")
    assert [orjson.loads(line)["body"] for line in done.stdout.splitlines()] == ["2026-11-25T10:00:00Z ERROR disk"]
    (bad,) = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert bad["line"] == 2 and "no time of its own" in bad["reason"] and bad["raw"] == "no time here"


def test_zone_less_stamps_take_tz_then_the_tz_environment():
    line = b'{"ts":"2026-07-04T12:00:00","msg":"x"}\n'
    by_env = run_ben("ingest", "-q", input=line, env={"TZ": "Asia/Kolkata"})  # +05:30, no summer time
    by_flag = run_ben("ingest", "-q", "--tz", "-03:00", input=line, env={"TZ": "Asia/Kolkata"})
    assert orjson.loads(by_env.stdout)["ts"] == "2026-07-04T06:30:00Z"
    assert orjson.loads(by_flag.stdout)["ts"] == "2026-07-04T15:00:00Z"


# --- inputs like cat ---------------------------------------------------------------------------

def test_a_missing_or_binary_input_is_reported_and_skipped(tmp_path):
    good = tmp_path / "good.log"
    good.write_bytes(b'{"msg":"kept"}\n')
    done = run_ben("ingest", str(tmp_path / "missing.log"), "/bin/ls", str(good))
    assert [orjson.loads(line)["body"] for line in done.stdout.splitlines()] == ["kept"]
    assert b"missing.log: No such file or directory; skipped" in done.stderr
    assert b"/bin/ls: binary input (a NUL byte" in done.stderr
    assert done.returncode == 1


def test_a_truncated_gzip_keeps_what_came_before_the_break(tmp_path):
    whole = gzip.compress(b"".join(b'{"msg":"r%d"}\n' % i for i in range(20000)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    done = run_ben("ingest", "-q", str(cut))
    got = [orjson.loads(line)["body"] for line in done.stdout.splitlines()]
    assert got and got == [f"r{i}" for i in range(len(got))]
    assert b"gzip stream is truncated" in done.stderr and b"it broke after line" in done.stderr
    assert done.returncode == 1


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_inputs_read_transparently(tmp_path, compress):
    path = tmp_path / "app.log.z"
    path.write_bytes(compress(b'{"msg":"a"}\n{"msg":"b"}\n'))
    done = run_ben("ingest", "-q", str(path))
    assert [orjson.loads(line)["body"] for line in done.stdout.splitlines()] == ["a", "b"]
    assert done.returncode == 0


def test_max_reject_share_fails_a_mostly_rejected_run():
    lines = b"not syslog at all\n" * 9 + b"<14>Nov 25 10:00:00 h app: ok\n"
    loose = run_ben("ingest", "--format", "syslog", input=lines)
    strict = run_ben("ingest", "--format", "syslog", "--max-reject-share", "5%", input=lines)
    assert loose.returncode == 0 and strict.returncode == 1
    assert b"rejected 9 of 10 lines (90%), over --max-reject-share 5%" in strict.stderr


def test_every_line_rejected_is_never_silent():
    done = run_ben("ingest", "--format", "syslog",
                   input=b"2026-12-04 17:30:01 web-1 CRON[1234]: not an rfc3339 stamp\n")
    assert b"every line was rejected" in done.stderr


# --- journald's JSON export -------------------------------------------------------------------
# Entries as ``journalctl -o json`` writes them (systemd.journal-fields(7); the JSON format of
# journal-export: µs stamps as decimal strings, bytes that are not UTF-8 as an array of numbers,
# a repeated field as an array of strings, a value over the size limit as null).

JOURNAL = [
    {"__CURSOR": "s=739ad4;i=4ece7;b=6c7c60;m=2bd9e4a5;t=5ee8f5ca3a0c5;x=f5a1", "__REALTIME_TIMESTAMP": "1796232601123456",
     "__MONOTONIC_TIMESTAMP": "735700133", "_BOOT_ID": "6c7c6013a8cc4ec19f3fd30c1d2d7a1b", "PRIORITY": "6",
     "SYSLOG_FACILITY": "9", "SYSLOG_IDENTIFIER": "CRON", "_PID": "1234", "_UID": "0", "_COMM": "cron",
     "_SYSTEMD_UNIT": "cron.service", "_HOSTNAME": "web-1", "_TRANSPORT": "syslog",
     "MESSAGE": "(root) CMD (run-parts /etc/cron.hourly)"},
    {"__REALTIME_TIMESTAMP": "1796232602000000", "_SOURCE_REALTIME_TIMESTAMP": "1796232601999000", "PRIORITY": "3",
     "_HOSTNAME": "web-1", "_COMM": "backup", "SYSLOG_PID": "77", "MESSAGE": [98, 97, 100, 32, 255],
     "CODE_FILE": ["a.c", "b.c"], "_SYSTEMD_USER_UNIT": "backup.service"},
    {"__REALTIME_TIMESTAMP": "1796232603000000", "PRIORITY": "0", "_HOSTNAME": "web-1", "SYSLOG_IDENTIFIER": "kernel",
     "MESSAGE": None},
]


def test_journal_export_fields_land_in_their_envelope_places():
    lines = [orjson.dumps(e) for e in JOURNAL]
    assert sniff_format(b"\n".join(lines) + b"\n").name == "journal"
    cron, backup, kernel = decode_all("journal", lines)
    assert cron["ts"] == "2026-12-02T17:30:01.123456Z"
    assert (cron["source"], cron["name"], cron["severity"], cron["body"]) == \
        ("web-1", "CRON", "info", "(root) CMD (run-parts /etc/cron.hourly)")
    assert cron["attrs"]["procid"] == "1234" and cron["attrs"]["unit"] == "cron.service"
    assert cron["attrs"]["facility"] == "cron" and cron["attrs"]["_UID"] == "0"
    assert "__CURSOR" not in cron["attrs"] and "__MONOTONIC_TIMESTAMP" not in cron["attrs"]
    assert backup["ts"] == "2026-12-02T17:30:01.999Z"  # the source's own time, when given
    assert (backup["name"], backup["severity"], backup["body"]) == ("backup", "error", "bad \ufffd")
    assert backup["attrs"]["procid"] == "77" and backup["attrs"]["unit"] == "backup.service"
    assert backup["attrs"]["CODE_FILE"] == "a.c\nb.c"
    assert kernel["severity"] == "fatal" and "body" not in kernel


def test_journal_entry_without_a_time_is_marked_and_a_bad_one_rejected():
    (rec,) = decode_all("journal", [b'{"MESSAGE":"x","__REALTIME_TIMESTAMP":null}'])
    assert rec["_ingest"] == {"ts": "read"}
    from ben_cli.ingest.format import DecodeError
    with pytest.raises(DecodeError, match="not a count of microseconds"):
        decode_all("journal", [b'{"MESSAGE":"x","__REALTIME_TIMESTAMP":"yesterday"}'])


_JOURNAL_VALUE = st.one_of(st.none(), st.text(max_size=20), st.lists(st.integers(0, 255), max_size=8),
                           st.lists(st.text(max_size=5), max_size=3), st.integers(-(2**63), 2**63 - 1), st.booleans())


@FAST
@given(st.dictionaries(st.sampled_from(["MESSAGE", "PRIORITY", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_PID", "_COMM",
                                        "__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP", "SYSLOG_FACILITY",
                                        "_SYSTEMD_UNIT", "CODE_FILE"]), _JOURNAL_VALUE))
def test_property_any_journal_entry_gives_a_record_or_a_reason(entry):
    from ben_cli.ingest.format import DecodeError

    try:
        (rec,) = decode_all("journal", [orjson.dumps(entry)])
    except DecodeError:
        return
    assert rec["ts"] and rec["name"] and all(v is not None for v in rec.get("attrs", {}).values())
    orjson.dumps(rec)


@FAST
@given(st.binary(max_size=400))
def test_property_sniffing_any_bytes_picks_a_format_or_says_binary(data):
    try:
        got = sniff(data)
    except Binary as exc:
        assert "binary input" in str(exc)
        return
    assert got.format.name in registry.formats.names()
