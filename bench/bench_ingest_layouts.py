"""ben ingest on the layouts of real logs (issue 15): each syslog file layout, journald's export and
every line layout of ``lines``, beside `jq -c .` on the NDJSON form of the same records, with the
share of lines that have a time of their own; and from a pipe (`cat f | ben ingest`).

Each layout's file repeats its documented example line with a counter appended to the message
(access lines as they are), so rates measure the layout's own decoding; the NDJSON reference is
ben's own output for that file.
"""

from __future__ import annotations

import os

import orjson
from harness import Harness, human_rate, table

from ben_cli.ingest.layouts import BUILTIN

N = 200_000
JOURNAL = orjson.dumps({"__CURSOR": "s=1", "__REALTIME_TIMESTAMP": "1796232601123456", "PRIORITY": "6",
                        "_HOSTNAME": "web-1", "SYSLOG_IDENTIFIER": "CRON", "_PID": "1234",
                        "_SYSTEMD_UNIT": "cron.service", "MESSAGE": "(root) CMD (run-parts /etc/cron.hourly)"}).decode()
OTHERS = [
    ("syslog", "bsd-pam", "Mar  2 07:41:19 gw2 sshd(pam_unix)[8812]: authentication failure; logname= uid=0 euid=0 "
                          "tty=NODEVssh ruser= rhost=198.51.100.77"),
    ("syslog", "rfc3339-file", "2026-12-04T17:30:01.123456+01:00 web-1 CRON[1234]: (root) CMD (run-parts /etc/cron.hourly)"),
    ("journal", "journal", JOURNAL),
]


def _write(h: Harness, name: str, example: str, grows: bool) -> object:
    path = h.path(f"layout-{name}.log")
    with open(path, "w") as fh:
        for i in range(N):
            if name == "journal":
                fh.write(example.replace('"MESSAGE":"', f'"MESSAGE":"{i} ') + "\n")
            else:
                fh.write(f"{example} {i}\n" if grows else example + "\n")
    return path


def run(h: Harness) -> str:
    cases = [(fmt, name, example, True) for fmt, name, example in OTHERS]
    cases += [("lines", layout.name, layout.example, layout.kind != "access") for layout in BUILTIN]
    rows = []
    for fmt, name, example, grows in cases:
        path = _write(h, name, example, grows)
        ref = h.path(f"layout-{name}.ndjson")
        h.time_once(f"{h.ben} ingest -q --format {fmt} {h.q(path)}", stdout=ref)
        own = sum(1 for line in ref.read_bytes().splitlines() if b'"ts":"read"' not in line)
        jq = h.time(f"jq -c . {h.q(ref)}")
        t = h.time(f"{h.ben} ingest -q --format {fmt} {h.q(path)}")
        rows.append([f"{fmt}: {name}", human_rate(t.rate(N)), human_rate(jq.rate(N)), f"{t.rate(N) / jq.rate(N):.2f}x",
                     f"{100 * own / N:.0f}%"])
    piped = []
    load_before = os.getloadavg()[0]
    for fmt, name in (("ndjson", None), ("logfmt", None), ("syslog", "rfc3339-file"), ("lines", "log4j")):
        if name is None:
            path = h.path(f"pipe.{fmt}")
            with open(path, "w") as fh:
                for i in range(N):
                    rec = {"ts": f"2026-11-25T10:00:{i % 60:02d}Z", "level": "info", "host": f"web-{i % 7}",
                           "msg": "request done", "status": 200 + i % 3, "ms": i % 500}
                    fh.write(orjson.dumps(rec).decode() + "\n" if fmt == "ndjson" else
                             " ".join(f'{k}="{v}"' if isinstance(v, str) and " " in v else f"{k}={v}"
                                      for k, v in rec.items()) + "\n")
        else:
            path = h.path(f"layout-{name}.log")
        ref = h.path(f"pipe-{fmt}.ndjson")
        h.time_once(f"{h.ben} ingest -q --format {fmt} {h.q(path)}", stdout=ref)
        jq = h.time(f"cat {h.q(ref)} | jq -c .")
        t = h.time(f"cat {h.q(path)} | {h.ben} ingest -q --format {fmt}")
        r = h.time(f"{h.ben} ingest -q --format {fmt} < {h.q(path)}")
        piped.append([f"`cat f \\| ben ingest --format {fmt}`", human_rate(t.rate(N)), human_rate(r.rate(N)),
                      human_rate(jq.rate(N)), f"{t.rate(N) / jq.rate(N):.2f}x"])
    return (
        "## ingest: the layouts of real logs\n\n"
        f"{N:,} lines per layout: the layout's documented example line repeated with a counter appended to\n"
        "its message (access lines as they are). The reference is `jq -c .` on ben's own NDJSON output for\n"
        "the same file; \"own time\" is the share of records whose time was read from the line rather than\n"
        "given at reading (`python-default` has none by design; `apt`'s `Start-Date:` line ends the\n"
        f"line, so with the counter appended it is no longer that layout). Best of {h.repeat} runs each, whole\n"
        "processes, on a machine shared with other work.\n\n"
        + table(["format: layout", "records/s", "jq records/s", "vs jq", "own time"], rows)
        + "\nFrom a pipe (read by one process while the producer is slower than ben, handed to the worker\n"
        "processes while it keeps the reader busy), beside `ben ingest < f` (a redirected file, split across\n"
        "processes from 16 MiB) and `cat f | jq -c .`. The load average of the machine during the runs:\n"
        f"about {(load_before + os.getloadavg()[0]) / 2:.1f} on {os.cpu_count()} cores.\n\n"
        + table(["command", "records/s", "`< f` records/s", "jq records/s", "pipe vs jq"], piped)
    )
