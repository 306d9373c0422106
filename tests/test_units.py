"""One grammar for durations and sizes, shared by every option."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ben_cli.units import ben_home, parse_duration, parse_share, parse_size


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("500ms", 0.5), ("15m", 900), ("1h30m", 5400), ("2d", 172800),
    ("1w", 604800), ("2w", 1209600), ("1.5h", 5400), ("1h 30m", 5400), ("250us", 0.00025), (" 7D ", 604800),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "m", "5x", "1h30", "h1", "-5s", "1.2.3s", "5 minutes"])
def test_not_durations(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@given(st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(["ms", "s", "m", "h", "d", "w"])), min_size=1, max_size=4))
def test_duration_parts_add_up(parts):
    text = "".join(f"{n}{unit}" for n, unit in parts)
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    assert parse_duration(text) == pytest.approx(sum(n * scale[u] for n, u in parts))


@pytest.mark.parametrize(("text", "size"), [
    ("4096", 4096), ("64K", 65536), ("64k", 65536), ("32M", 32 << 20), ("1.5G", 3 << 29), ("64KiB", 65536), ("2mb", 2 << 20),
])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "12X", "-1K", "1 2"])
def test_not_sizes(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize("text", ["0", "0K", "0.0001K"])
def test_sizes_are_at_least_one_byte(text):
    with pytest.raises(ValueError, match="at least one byte"):
        parse_size(text)


def test_ben_home(monkeypatch, tmp_path):
    monkeypatch.setenv("BEN_HOME", str(tmp_path))
    assert ben_home() == tmp_path
    monkeypatch.delenv("BEN_HOME")
    assert ben_home().parts[-3:] == (".local", "share", "ben")


@pytest.mark.parametrize("text, share", [("5%", 0.05), ("0.5%", 0.005), ("0.05", 0.05), ("100%", 1.0), ("0", 0.0)])
def test_shares(text, share):
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["", "%", "five", "-5%", "150%", "2"])
def test_not_shares(text):
    with pytest.raises(ValueError):
        parse_share(text)
