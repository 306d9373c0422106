"""ben scrub: records/s beside `jq -c .` and beside Presidio; quality on the labeled corpus and
on Presidio's synthetic dataset."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
from harness import ROOT, Harness, human_rate, mib, table

N = 1_000_000
N_ROWS = 200_000  # the dense and sparse rows (issue 16)
PRESIDIO_N = 2_000
LOG_PER_TEMPLATE = 200
CORPUS_PER_LABEL = 2_000
DATASET = ROOT / "bench" / "data" / "presidio_synth_dataset_v2.json"
# ben entity -> Presidio entity type
TO_PRESIDIO = {"email": "EMAIL_ADDRESS", "credit_card": "CREDIT_CARD", "iban": "IBAN_CODE", "us_ssn": "US_SSN",
               "ipv4": "IP_ADDRESS", "ipv6": "IP_ADDRESS", "phone": "PHONE_NUMBER"}
PUBLISHED = {"CREDIT_CARD": "P 1.0 / R 0.772", "PHONE_NUMBER": "P 0.41 / R 0.25", "IP_ADDRESS": "R 0.929",
             "EMAIL_ADDRESS": "P 1.0 / R 1.0", "IBAN_CODE": "P 1.0 / R 1.0", "US_SSN": "P 1.0 / R 1.0"}

WORDS = ("request handler completed upstream cache miss retry queue worker shard replica connection pool "
         "timeout latency budget exceeded tenant region checkout payment session renewed slow query index "
         "scan rows returned bytes written flush compaction").split()


def envelopes(n: int, seed: int = 3):
    """Envelopes with ~250-byte bodies as an application writes them; one in ten carries personal
    data (an e-mail, a client IP, a card, a phone number or a bearer token)."""
    rng = random.Random(seed)
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(40))[:200]
        body = f"GET /api/v1/items/{rng.randrange(10**6)} {words} took {rng.randint(1, 900)} ms"
        if i % 10 == 0:
            body += rng.choice([f" user u{i}@example.com", f" client 203.0.{i % 250}.{1 + i % 200}", " card 4111 1111 1111 1111",
                                f" call +1 415-555-{i % 10000:04d}", f" Authorization: Bearer tok{i:012d}abcdef"])
        yield {"ts": f"2026-11-25T10:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z", "lane": "event",
               "source": f"web-{i % 12}", "name": "http.request", "severity": "info", "body": body,
               "attrs": {"path": "/api/v1/items", "status": 200, "method": "GET", "trace_id": f"{rng.getrandbits(128):032x}"}}


def dense(n: int, seed: int = 4):
    """Envelopes as an access log writes them: every record has a finding (the client address on
    every line, an e-mail on one in three)."""
    rng = random.Random(seed)
    for i, rec in enumerate(envelopes(n, seed)):
        rec["body"] = (f'203.0.{i % 250}.{1 + i % 200} - - [25/Nov/2026:10:00:{i % 60:02d} +0000] "GET /api/v1/items/'
                       f'{rng.randrange(10**6)} HTTP/1.1" 200 {rng.randint(100, 9999)} "-" "curl/8.5.0"'
                       + (f" user u{i}@example.com" if i % 3 == 0 else ""))
        yield rec


def sparse(n: int, seed: int = 5):
    """The same envelopes with no personal data at all."""
    for i, rec in enumerate(envelopes(n, seed)):
        if i % 10 == 0:
            rec["body"] = rec["body"].split(" user ")[0].split(" client ")[0].split(" card ")[0].split(" call ")[0].split(" Authorization")[0]
        yield rec


def write(path: Path, n: int, gen=envelopes) -> Path:
    if not path.exists():
        with open(path, "wb") as fh:
            for rec in gen(n):
                fh.write(orjson.dumps(rec) + b"\n")
    return path


def presidio_python(h: Harness) -> Path:
    venv = h.path("presidio-venv")
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(py), "-c", "import presidio_analyzer, presidio_anonymizer"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "presidio-analyzer", "presidio-anonymizer"], check=True)
    return py


def overlap_pr(pred: list[list[tuple[int, int, str]]], gold: list[list[tuple[int, int, str]]], types: list[str]) -> dict:
    """Per type: precision (predicted spans overlapping a gold span of that type) and recall
    (gold spans overlapped by a prediction of that type)."""
    out = {}
    for t in types:
        tp_p = n_p = tp_g = n_g = 0
        for ps, gs in zip(pred, gold, strict=True):
            p = [(s, e) for s, e, k in ps if k == t]
            g = [(s, e) for s, e, k in gs if k == t]
            n_p += len(p)
            n_g += len(g)
            tp_p += sum(any(s < ge and gs_ < e for gs_, ge in g) for s, e in p)
            tp_g += sum(any(s < ge and gs_ < e for s, e in p) for gs_, ge in g)
        out[t] = (tp_p / n_p if n_p else float("nan"), tp_g / n_g if n_g else float("nan"), n_g)
    return out


def run(h: Harness) -> str:
    sys.path.insert(0, str(ROOT))
    from ben_cli.scrub import Scrubber
    from ben_cli.scrub.finder import EntityFinder
    from tests.scrub_corpus import ENTITIES, corpus, measure
    from tests.scrub_logs import items as log_items
    from tests.scrub_logs import measure as log_measure

    load_before = os.getloadavg()[0]
    data = write(h.path("scrub-1m.ndjson"), N)
    size = data.stat().st_size / N
    jq = h.time(f"jq -c . {h.q(data)}")
    ben = h.time(f"{h.ben} scrub -q {h.q(data)}")
    ratio = ben.rate(N) / jq.rate(N)
    # Presidio on the first 2,000 of the same records, in its own virtualenv
    sample = h.path("scrub-2k.ndjson")
    with open(data, "rb") as src, open(sample, "wb") as dst:
        for _ in range(PRESIDIO_N):
            dst.write(src.readline())
    py = presidio_python(h)
    runner = ROOT / "bench" / "presidio_run.py"
    pres = json.loads(subprocess.run([str(py), str(runner), "speed", str(sample)], capture_output=True, text=True, check=True).stdout)
    pres_rate = pres["records"] / pres["seconds"]
    rows = []
    for label, gen in (("every record with a finding (dense)", dense), ("no record with a finding (sparse)", sparse)):
        f = write(h.path(f"scrub-{label.split('(')[1][:-1]}-{N_ROWS // 1000}k.ndjson"), N_ROWS, gen)
        jq_r, ben_r = h.time(f"jq -c . {h.q(f)}"), h.time(f"{h.ben} scrub -q {h.q(f)}")
        rows.append((label, jq_r, ben_r))
    # (the CPU column: user+system seconds, steadier than wall time when other work shares the cores)
    load = f"{min(load_before, os.getloadavg()[0]):.1f}-{max(load_before, os.getloadavg()[0]):.1f}"
    speed = table(["tool", "records", "records/s", "vs jq", "vs jq, CPU time", "peak memory"], [
        ["`jq -c .` (reference)", f"{N:,}", human_rate(jq.rate(N)), "1.00x", "1.00x", mib(jq.peak_rss_kib)],
        ["`ben scrub`", f"{N:,}", human_rate(ben.rate(N)), f"{ratio:.2f}x", f"{ben.cpu_rate(N) / jq.cpu_rate(N):.2f}x",
         mib(ben.peak_rss_kib)],
        *([f"`jq -c .`, {label}", f"{N_ROWS:,}", human_rate(j.rate(N_ROWS)), "1.00x", "1.00x", mib(j.peak_rss_kib)]
          for label, j, _ in rows),
        *([f"`ben scrub`, {label}", f"{N_ROWS:,}", human_rate(b.rate(N_ROWS)), f"{b.rate(N_ROWS) / j.rate(N_ROWS):.2f}x",
           f"{b.cpu_rate(N_ROWS) / j.cpu_rate(N_ROWS):.2f}x", mib(b.peak_rss_kib)] for label, j, b in rows),
        ["Presidio analyzer + anonymizer (pattern recognizers)", f"{PRESIDIO_N:,}", human_rate(pres_rate),
         f"{pres_rate / jq.rate(N):.4f}x", "-", "-"],
    ])
    # quality on the generated corpus
    items = list(corpus(CORPUS_PER_LABEL, seed=101))
    rates = measure(items, Scrubber(key=b"b" * 32).scrub)
    pos = [[k, f"{n:,}", f, f"{100 * f / n:.2f}%"] for k, (f, n) in rates.items() if k in ENTITIES]
    neg = [[k, f"{n:,}", f, f"{100 * f / n:.2f}%"] for k, (f, n) in rates.items() if k not in ENTITIES]
    # quality on the real-log corpus (issue 16)
    logs = list(log_items(LOG_PER_TEMPLATE, seed=1601))
    log_rates = log_measure(logs, Scrubber(key=b"b" * 32).scrub)
    log_rows = [[k, "must go" if p else "must stay", f"{n:,}", f, f"{100 * f / n:.2f}%"]
                for k, (f, n, p) in sorted(log_rates.items(), key=lambda x: (not x[1][2], x[0]))]
    # the Presidio dataset
    dataset = json.loads(DATASET.read_text())
    gold = [[(s["start_position"], s["end_position"], s["entity_type"]) for s in it["spans"]] for it in dataset]
    det = EntityFinder()
    ben_pred = [[(s, e, TO_PRESIDIO[n]) for s, e, n in det.find(it["full_text"]) if n in TO_PRESIDIO] for it in dataset]
    types = sorted(set(TO_PRESIDIO.values()))
    ben_pr = overlap_pr(ben_pred, gold, types)
    pres_spans = json.loads(subprocess.run([str(py), str(runner), "spans", str(DATASET)], capture_output=True, text=True, check=True).stdout)
    pres_pr = overlap_pr([[tuple(x) for x in p] for p in pres_spans], gold, types)
    pr_rows = [[t, n, f"{ben_pr[t][0]:.3f}", f"{ben_pr[t][1]:.3f}", f"{pres_pr[t][0]:.3f}", f"{pres_pr[t][1]:.3f}", PUBLISHED.get(t, "")]
               for t, (_, _, n) in ((t, ben_pr[t]) for t in types)]
    return (
        "## scrub\n\n"
        f"Speed: {N:,} envelopes ({size:.0f} bytes each on average, ~250-byte bodies, one in ten with personal data),"
        f" and {N_ROWS:,} envelopes where every record has a finding (an access-log line: a client address on every"
        " line, an e-mail on one in three) or none has."
        f" `ben scrub` runs at **{ratio:.2f}x** `jq -c .` on the same file, and **{ben.rate(N) / pres_rate:,.0f}x** Presidio's"
        f" rate per record (Presidio timed in-process on the first {PRESIDIO_N:,} records, start-up excluded; every string"
        " field analysed and anonymised; Presidio installed in its own virtualenv, with an NLP engine that loads no model,"
        " since spaCy's models are not on PyPI: its pattern recognizers run as usual, NER is off).\n\n"
        + speed
        + f"\nLeak rate per entity on the generated labeled corpus ({CORPUS_PER_LABEL:,} items per entity, in log text and"
        " structured fields; a leak is the value surviving anywhere in the scrubbed record):\n\n"
        + table(["entity", "items", "leaked", "leak rate"], pos)
        + "\nDamage rate per kind of hard negative (a damaged value no longer appears verbatim):\n\n"
        + table(["negative", "items", "damaged", "damage rate"], neg)
        + f"\nLeak and damage rates on real log lines ({len(logs):,} records from {LOG_PER_TEMPLATE} draws of each template"
        " written from the documented formats of sshd, PAM, sudo, su, login, ftpd, cron, dpkg/apt, nginx, Apache, HDFS, YARN,"
        " Zookeeper, Spark, Java services, systemd, Kubernetes events and cloud audit logs; tests/scrub_logs.py). A value"
        " that must go leaks if it survives anywhere in the record; one that must stay is damaged if it is no longer there"
        " verbatim:\n\n"
        + table(["label", "side", "values", "failed", "rate"], log_rows)
        + "\nPresidio's synthetic dataset (1,500 sentences), structured entity types, span-overlap matching. Presidio run here"
        " with its pattern recognizers and no NLP model; published figures are presidio-research's spaCy pipeline:\n\n"
        + table(["entity type", "gold spans", "ben P", "ben R", "Presidio P", "Presidio R", "Presidio published"], pr_rows)
        + "\nThe machine is shared (2 cores, other jobs running), so absolute rates are pessimistic; ratios come from one run"
        f" (one-minute load average {load} before and after the speed rows).\n"
    )
