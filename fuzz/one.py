"""Run one fuzz target under atheris: ``python fuzz/one.py TARGET [libFuzzer flags] [corpus folders]``.

The library is imported under atheris' instrumentation (only ``ben_cli``: the standard library
and the dependencies are not the code under test, and instrumenting them slows every input).
With ``BEN_FUZZ_NATIVE`` naming a folder, the C extensions built there (by ``make fuzz-native``,
with AddressSanitizer and UndefinedBehaviorSanitizer) replace the installed ones; the process
must then run with the sanitizer runtime preloaded (``fuzz/run.py --native`` sets that up).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
import targets  # noqa: E402 (after the path is set)

EXTENSIONS = ("ben_cli.ingest._logfmt", "ben_cli.contract._check", "ben_cli.sink._rowjson", "ben_cli.scrub._scan")


def load_native(folder: Path) -> None:
    """Put the sanitizer builds of the extensions in sys.modules before the library imports them."""
    for name in EXTENSIONS:
        found = sorted(folder.glob(name.rsplit(".", 1)[1] + ".*.so")) or sorted(folder.glob(name.rsplit(".", 1)[1] + ".so"))
        if not found:
            raise SystemExit(f"fuzz: no sanitizer build of {name} in {folder} (run make fuzz-native)")
        spec = importlib.util.spec_from_file_location(name, found[0])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module


def main() -> None:
    name = sys.argv[1]
    if name not in targets.TARGETS:
        raise SystemExit(f"fuzz: no target {name!r}; targets: {', '.join(targets.TARGETS)}")
    native = os.environ.get("BEN_FUZZ_NATIVE")
    if native:
        load_native(Path(native))
    with atheris.instrument_imports(include=["ben_cli"]):
        fn = targets.TARGETS[name].build()
    fn = atheris.instrument_func(fn)  # the harness's own branches guide too (a differential target's)
    allowed = targets.contract_errors()

    def test_one_input(data: bytes) -> None:
        try:
            fn(data)
        except allowed:
            pass

    mutator = None
    prefix = targets.TARGETS[name].json_prefix
    if prefix is not None:
        from mutate import json_mutator

        # looked up at each call: atheris binds Mutate to the libFuzzer it found when Fuzz() starts
        mutator = json_mutator(prefix, lambda data, size: atheris.Mutate(data, size))
    atheris.Setup([sys.argv[0], *sys.argv[2:]], test_one_input, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
