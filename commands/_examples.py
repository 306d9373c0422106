"""Examples of every command, written once: they end each ``ben COMMAND --help`` and make the
EXAMPLES section of each man page (``tests/support/manpages.py``); a test parses each example
against the real command, so a renamed flag cannot leave a stale example behind. Keys are command
paths without ``ben`` (``"key gen"``; the root is ``"ben"``), values (what it does, command line).
"""

from __future__ import annotations

CH = "clickhouse://127.0.0.1:9000/ben"

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "ben": [
        ("Read a log, redact personal data, mark unusual values and tell what happened",
         "ben ingest app.log | ben scrub | ben detect | ben narrate"),
        ("Store Prometheus metrics in ClickHouse with their anomaly marks",
         f"ben ingest --format prom metrics.txt | ben detect | ben sink --to {CH}"),
        ("Turn on completion in bash (for zsh and fish, see SHELL COMPLETION in ben(1))",
         'eval "$(ben --show-completion bash)"'),
    ],
    "ingest": [
        ("Turn a log into envelopes; unreadable lines go to bad.ndjson",
         "ben ingest --rejects bad.ndjson app.log > envelopes.ndjson"),
        ("Scrape a Prometheus exporter, naming the source",
         "curl -s http://127.0.0.1:9100/metrics | ben ingest --format prom --source node-1"),
        ("From cron: append only what is new since the last run",
         "ben ingest --quiet --since-last --state app.offsets --output app.ndjson /var/log/app.log"),
        ("A Java service's log, stack traces joined to their records; exit 1 when over 5% of lines are rejected",
         "ben ingest --multiline auto --max-reject-share 5% /var/log/app/server.log"),
    ],
    "scrub": [
        ("Redact personal data and secrets before anything is stored",
         "ben ingest app.log | ben scrub > clean.ndjson"),
        ("Count what would be redacted, per entity and field, changing nothing",
         "ben scrub --report envelopes.ndjson > /dev/null"),
        ("Start a policy of your own from the default one, then use it",
         "ben scrub --print-policy > scrub.toml && ben scrub --policy scrub.toml envelopes.ndjson"),
    ],
    "detect": [
        ("Mark unusual values in every series (source and name)",
         "ben ingest --format prom metrics.txt | ben detect"),
        ("Watch latency per route with the MAD detector; keep only the anomalies",
         "ben detect --detector mad --field attrs.ms --by source,attrs.route --only-anomalies access.ndjson"),
        ("From cron: carry each series' memory between runs; forget series silent for a week, keep at most 20,000",
         "ben detect --state detect.state --expire 7d --max-series 20000 new.ndjson"),
        ("A more sensitive EWMA detector; list every detector and its parameters",
         "ben detect --detector ewma --param L=2.5 metrics.ndjson && ben detect --list"),
    ],
    "narrate": [
        ("A plain-language health report on a marked stream",
         "ben ingest app.log | ben detect | ben narrate"),
        ("One self-contained HTML page for one day, with what ingest rejected",
         "ben narrate --format html --since 2026-11-25T00:00:00Z --until 2026-11-26T00:00:00Z "
         "--rejected bad.ndjson marked.ndjson > report.html"),
        ("Streaming: pass records on and add a narrative record every five minutes",
         f"ben ingest --follow app.log | ben detect | ben narrate --every 5m | ben sink --to {CH}"),
    ],
    "sink": [
        ("Store envelopes in ClickHouse over HTTP, exactly once",
         "ben sink --to clickhouse+http://127.0.0.1:8123/ben envelopes.ndjson"),
        ("Store and pass the records on to the next stage",
         f"ben detect metrics.ndjson | ben sink --tee --to {CH} | ben narrate"),
        ("Write gzip files rotated every day",
         "ben sink --to file:/var/lib/ben/events.ndjson --rotate-every 1d --gzip events.ndjson"),
    ],
    "db init": [
        ("Create the database, the telemetry table and its views",
         f"ben db init --to {CH}"),
        ("Print the DDL for a cluster, with a 30-day TTL, instead of running it",
         f"ben db init --to {CH} --cluster main --ttl 30 --print"),
    ],
    "db migrate": [("Bring the table forward to the latest schema version", f"ben db migrate --to {CH}")],
    "db status": [("The server's version and the table's schema version, as NDJSON", f"ben db status --to {CH}")],
    "db query": [
        ("Records per source in one lane, the lane bound as a parameter",
         f"ben db query --to {CH} --param lane=event "
         "'SELECT source, count() AS n FROM telemetry WHERE lane = {lane:String} GROUP BY source'"),
    ],
    "db proc": [
        ("The worst anomalies of the last two hours",
         f"ben db proc --to {CH} top-anomalies --param minutes=120"),
        ("One series from five minutes before to five minutes after a moment",
         f"ben db proc --to {CH} series-around --param source=web-1 --param name=http.request "
         "--param at=2026-11-25T10:00:00Z"),
        ("List the saved queries and their parameters",
         "ben db proc --list"),
    ],
    "key gen": [
        ("A signing key pair: ben.key (mode 0600) and ben.pub",
         "ben key gen --out ben"),
        ("An age identity and its recipient, for sealing",
         "ben key gen --out backup --type x25519"),
    ],
    "key show": [("A key's type, public key and fingerprint", "ben key show ben.pub")],
    "key sign": [
        ("Sign a release; writes dist.tar.gz.minisig, which minisign -V -p ben.pub checks",
         "ben key sign --key ben.key dist.tar.gz"),
        ("Sign a stream of records as a tamper-evident chain",
         "ben ingest app.log | ben key sign --stream --key ben.key > signed.ndjson"),
    ],
    "key verify": [
        ("Check a release against dist.tar.gz.minisig",
         "ben key verify --pub ben.pub dist.tar.gz"),
        ("Check a signed stream and pass its records on",
         "ben key verify --stream --pub ben.pub signed.ndjson | ben narrate"),
    ],
    "key seal": [
        ("Encrypt to an age recipient (age -d -i backup.key opens it)",
         "tar c data | ben key seal --to backup.pub > data.tar.age"),
        ("Encrypt a file to ASCII armor, written atomically",
         "ben key seal --to backup.pub --armor --output events.age events.ndjson"),
    ],
    "key open": [
        ("Decrypt with the identity file",
         "ben key open --key backup.key --output events.ndjson events.age"),
    ],
}


def examples(path: str) -> list[tuple[str, str]]:
    """What ``ben PATH --help`` shows: its own examples, or for a group the first of each subcommand's."""
    if path in EXAMPLES:
        return EXAMPLES[path]
    return [found[0] for key, found in EXAMPLES.items() if key.startswith(path + " ")]


def page_examples(path: str) -> list[tuple[str, str]]:
    """What the man page of ``ben PATH`` shows: its own examples and all of its subcommands'."""
    return EXAMPLES.get(path, []) + [ex for key, found in EXAMPLES.items() if key.startswith(path + " ") for ex in found]


def epilog(path: str, rich: bool) -> str:
    """The examples as the end of ``--help``: ``# what`` above each command line, ready to paste.

    Click rewraps an epilog unless a paragraph starts with ``\\b``; Typer's rich help joins the
    lines of a paragraph, so there every line is a paragraph of its own."""
    if rich:
        from rich.markup import escape

        blocks = [f"[dim]# {escape(what)}[/dim]\n\n{escape(line)}" for what, line in examples(path)]
        return "[bold]Examples:[/bold]\n\n" + "\n\n\n\n".join(blocks)
    return "Examples:\n\n" + "\n\n".join(f"\b\n  # {what}\n  {line}" for what, line in examples(path))
