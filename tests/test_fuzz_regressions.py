"""Inputs the fuzz targets (fuzz/) found that broke a parser's contract, each kept as a test.

A parser returns a value or raises the project's error (ben_cli/errors.py) with a message that
says what is wrong; these inputs once escaped as another exception (a traceback for the user).
Each test is listed in its target's ``fixed`` (fuzz/targets.py) and so in fuzz/results/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ben_cli.crypto import keyfiles, minisign
from ben_cli.crypto.keys import SigningKey
from ben_cli.crypto.primitives import CryptoError

from .conftest import run_ben

NOT_UTF8 = b"untrusted comment: \xff\xfe\nRUQ\xfd\n"


def test_a_minisign_signature_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path):
    signed = tmp_path / "f"
    signed.write_bytes(b"x")
    (tmp_path / "f.minisig").write_bytes(NOT_UTF8)
    with pytest.raises(CryptoError, match=r"f\.minisig: not a minisign signature \(not UTF-8 text: byte 19\)"):
        minisign.verify_file(SigningKey.generate().public, signed)


def test_a_key_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path):
    key = tmp_path / "bad.key"
    key.write_bytes(NOT_UTF8)
    key.chmod(0o600)
    with pytest.raises(keyfiles.KeyFileError, match=r"bad\.key: not a key file \(not UTF-8 text: byte 19\)"):
        keyfiles.load_signing_key(key)
    pub = tmp_path / "bad.pub"
    pub.write_bytes(NOT_UTF8)
    with pytest.raises(keyfiles.KeyFileError, match=r"bad\.pub: not a key file"):
        keyfiles.load_verify_key(str(pub))


def test_ben_key_verify_with_a_binary_signature_says_so_without_a_traceback(tmp_path: Path):
    done = run_ben("key", "gen", "--out", str(tmp_path / "k"), cwd=tmp_path)
    assert done.returncode == 0
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "f.minisig").write_bytes(NOT_UTF8)
    done = run_ben("key", "verify", "-P", str(tmp_path / "k.pub"), str(tmp_path / "f"), cwd=tmp_path)
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert b"not a minisign signature (not UTF-8 text" in done.stderr


# --- bee addresses (target bee_address) ------------------------------------------------------------

@pytest.mark.parametrize("text", ["':\u00b91", ":\u00b9", "host:\u0661\u0662"])
def test_a_bee_port_of_digits_that_are_not_ascii_is_a_usage_error(text: str):
    """'¹'.isdigit() is true but int('¹') raises ValueError; '١٢' would have been read as port 12."""
    from ben_cli.bee.address import parse
    from ben_cli.errors import UsageError

    with pytest.raises(UsageError, match="is not an address: give HOST:PORT"):
        parse(text)


# --- detector state files (target detect_state) -----------------------------------------------------

def test_a_detector_state_whose_series_key_is_not_a_list_is_refused_by_name(tmp_path: Path):
    """The refusal's message named the series with tuple(key): a number there raised TypeError."""
    import orjson

    from ben_cli.detect.options import DetectOptions
    from ben_cli.detect.table import SeriesTable
    from ben_cli.errors import StateError

    path = tmp_path / "state.json"
    with SeriesTable(DetectOptions(detector="ewma", state=path)) as table:
        list(table.feed([{"ts": f"2026-11-25T10:00:{n:02d}Z", "source": "web", "name": "cpu", "value": n}
                         for n in range(5)]))
        table.save()
    data = orjson.loads(path.read_bytes())
    data["series"].insert(0, [1, None, None])
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(StateError, match=r"state\.json: a series' state cannot be read \(series '1': "):
        SeriesTable(DetectOptions(detector="ewma", state=path)).load()


def test_a_detector_state_whose_series_state_is_too_short_is_refused_by_name(tmp_path: Path):
    """The auto detector read its members' slot by index: a short list raised IndexError."""
    import orjson

    from ben_cli.detect.options import DetectOptions
    from ben_cli.detect.table import SeriesTable
    from ben_cli.errors import StateError

    path = tmp_path / "state.json"
    with SeriesTable(DetectOptions(detector="auto", state=path)) as table:
        list(table.feed([{"ts": f"2026-11-25T10:00:{n:02d}Z", "source": "web", "name": "cpu", "value": n % 5}
                         for n in range(40)]))
        table.save()
    data = orjson.loads(path.read_bytes())
    key, seen, saved = data["series"][0]
    data["series"][0] = [key, seen, saved[:1]]
    path.write_bytes(orjson.dumps(data))
    with pytest.raises(StateError, match=r"a series' state cannot be read \(series 'web/cpu': list index out of range"):
        SeriesTable(DetectOptions(detector="auto", state=path)).load()


@pytest.mark.parametrize("text", ["scan=true", "operators = 1", "field = [1]", "field = [[1]]"])
def test_a_scrub_policy_whose_tables_are_not_tables_is_refused_by_name(text: str):
    """Found by the scrub_policy target: ``scan=true`` was a TypeError traceback."""
    from ben_cli.scrub.policy import PolicyError, parse_policy

    with pytest.raises(PolicyError, match=r"^p\.toml(:1)?: .*(table|\[\[field\]\])"):
        parse_policy(text, "p.toml")


def test_a_thread_id_past_64_bits_stays_text_and_the_record_can_be_written():
    """ingest_lines: nginx's error log ``PID#TID:`` with a TID of 98 digits became a Python int no
    JSON writer takes (orjson: "Integer exceeds 64-bit range"), a traceback for ``ben ingest``."""
    import orjson

    from ben_cli.ingest import DecodeOptions, Ingester

    line = b"2026/03/04 09:12:31 [error] 2#" + b"4" * 98 + b"2: *1 connect() failed\n"
    ingester = Ingester("lines", DecodeOptions(), file="t")
    recs = [*ingester.feed([line]), *ingester.flush()]
    assert recs[0]["attrs"]["tid"] == "4" * 98 + "2" and recs[0]["attrs"]["pid"] == 2
    orjson.dumps(recs[0])
    proc = run_ben("ingest", "-f", "lines", input=line)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
