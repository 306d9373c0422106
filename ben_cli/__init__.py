"""ben: Unix filters for telemetry. This package is the library; the CLI shells live in ben_cli.commands."""

__version__ = "0.1.0"
