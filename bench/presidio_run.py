"""Run inside the Presidio virtualenv by bench_scrub.py (Presidio is not a dependency of ben).

    presidio_run.py speed RECORDS.ndjson   -> {"records": n, "seconds": s}
    presidio_run.py spans DATASET.json     -> [[start, end, entity_type], ...] per item

Presidio's analyzer needs an NLP engine; its spaCy models are not packages on PyPI, so this uses
an engine that returns no NLP artifacts: the pattern recognizers (credit card, e-mail, IBAN, IP,
phone, US SSN, ...) run exactly as usual, only the NER-based PERSON/LOCATION and the context
words' lemma boost are off. That is the fair match for ben, which has no NER either.
"""

from __future__ import annotations

import json
import sys
import time

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from presidio_anonymizer import AnonymizerEngine


class NoModelEngine(NlpEngine):
    """Tokenless NLP engine: Presidio's pattern recognizers need no model."""

    def load(self):
        pass

    def is_loaded(self):
        return True

    def process_text(self, text, language):
        return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)

    def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
        for t in texts:
            yield t, self.process_text(t, language)

    def is_stopword(self, word, language):
        return False

    def is_punct(self, word, language):
        return False

    def get_supported_entities(self):
        return []

    def get_supported_languages(self):
        return ["en"]


def engines():
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers()
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=NoModelEngine(), supported_languages=["en"])
    return analyzer, AnonymizerEngine()


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def speed(path):
    analyzer, anonymizer = engines()
    records = [json.loads(line) for line in open(path)]
    analyzer.analyze(text="warm-up bob@example.com", language="en")  # loads the public-suffix list once
    start = time.perf_counter()
    for rec in records:
        for text in strings(rec):
            results = analyzer.analyze(text=text, language="en")
            anonymizer.anonymize(text=text, analyzer_results=results)
    print(json.dumps({"records": len(records), "seconds": time.perf_counter() - start}))


def spans(path):
    analyzer, _ = engines()
    out = []
    for item in json.load(open(path)):
        res = analyzer.analyze(text=item["full_text"], language="en")
        out.append([[r.start, r.end, r.entity_type] for r in res])
    print(json.dumps(out))


if __name__ == "__main__":
    {"speed": speed, "spans": spans}[sys.argv[1]](sys.argv[2])
