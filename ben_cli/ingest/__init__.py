"""``ben ingest``: read what producers write and emit clean envelopes.

The face of the part. :class:`Ingester` is the stage core (lines of one input in, envelopes out);
:func:`run` is the command in one call (files, ``--follow``, ``--since-last``, ``--listen``).
Importing the package registers the built-in formats.
"""

from ben_cli.ingest import csv_format as _csv  # noqa: F401  (registers the formats)
from ben_cli.ingest import journal as _journal  # noqa: F401
from ben_cli.ingest import lines as _lines  # noqa: F401
from ben_cli.ingest import logfmt as _logfmt_format  # noqa: F401
from ben_cli.ingest import ndjson_format as _ndjson  # noqa: F401
from ben_cli.ingest import otlp as _otlp  # noqa: F401
from ben_cli.ingest import prometheus as _prometheus  # noqa: F401
from ben_cli.ingest import syslog as _syslog  # noqa: F401
from ben_cli.ingest.core import Ingester
from ben_cli.ingest.format import DecodeError, DecodeOptions, Format, parse_tz, utc_offset_now, zone_from_environment
from ben_cli.ingest.layouts import layouts_from_options
from ben_cli.ingest.modes import run
from ben_cli.ingest.options import IngestOptions
from ben_cli.ingest.sniff import format_names, sniff_format
from ben_cli.ingest.summary import FormatStats, IngestSummary

__all__ = ["DecodeError", "DecodeOptions", "Format", "FormatStats", "IngestOptions", "IngestSummary", "Ingester",
           "format_names", "layouts_from_options", "parse_tz", "run", "sniff_format", "utc_offset_now", "zone_from_environment"]
