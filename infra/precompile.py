"""Bytecode for the built artifacts, so Lambda never compiles a module at a cold start.

`sam build` unpacks the layer's wheels without compiling them and copies the functions'
and the layer's own sources as they are, so a SAM-built Python artifact carries no
bytecode. /opt and /var/task are read-only on Lambda, so every execution environment
would compile every module it imports from source, at every cold start: on this machine
the Registrations handler's init took 390 ms with bytecode for the libraries and Convene
and 1,015 ms without (median of 5; every handler in docs/performance.md, "Bytecode").
Timestamp-based .pyc files would not help: SAM zips every
file dated 1980-01-01, so no recorded mtime can match and each one is read, rejected and
recompiled.

So `make build` runs this, with the runtime's own Python (`python3.13 -m infra.precompile`),
over `.aws-sam/build`. It writes checked-hash .pyc files (PEP 552): valid whatever the
zip's timestamps say, and a source that does not match its .pyc is still compiled, so
stale bytecode never runs. Then it checks every source has its bytecode, and fails the
build if one does not.

Standard library only: it runs under the runtime's interpreter, not the project's venv.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import py_compile
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODE = py_compile.PycInvalidationMode.CHECKED_HASH
_FLAGS_CHECKED_HASH = 0b11  # PEP 552: hash-based, check the source


def runtime_version(template: Path = ROOT / "template.yaml") -> tuple[int, int]:
    """The Python the functions run on, from the template's Globals (`Runtime: python3.13`)."""
    found = re.search(r"^\s+Runtime:\s*python(\d+)\.(\d+)\s*$", template.read_text(), re.M)
    if not found:
        raise SystemExit(f"no `Runtime: pythonX.Y` in {template}")
    return int(found.group(1)), int(found.group(2))


def compile_tree(root: Path) -> bool:
    """Writes checked-hash bytecode for every source under `root`; False if one failed."""
    return bool(compileall.compile_dir(root, quiet=1, workers=0, invalidation_mode=MODE))


def without_bytecode(root: Path) -> list[Path]:
    """The sources under `root` this interpreter would compile at import: no .pyc beside
    them in `__pycache__`, or one that is not checked-hash, or not of this source."""
    missing = []
    for source in sorted(root.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            missing.append(source)
            continue
        header = cached.read_bytes()[:16]
        flags = int.from_bytes(header[4:8], "little")
        if (
            header[:4] != importlib.util.MAGIC_NUMBER
            or flags != _FLAGS_CHECKED_HASH
            or header[8:16] != importlib.util.source_hash(source.read_bytes())
        ):
            missing.append(source)
    return missing


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.precompile", description=__doc__)
    parser.add_argument("build_dir", nargs="?", default=str(ROOT / ".aws-sam" / "build"))
    args = parser.parse_args(argv)

    wanted = runtime_version()
    if sys.version_info[:2] != wanted:
        print(
            f"infra.precompile runs under python{wanted[0]}.{wanted[1]}, the functions' "
            f"runtime (bytecode is per version); this is {sys.version.split()[0]}.",
            file=sys.stderr,
        )
        return 2
    build = Path(args.build_dir)
    artifacts = sorted(p for p in build.iterdir() if p.is_dir()) if build.is_dir() else []
    if not artifacts:
        print(f"nothing built in {build}: run `sam build` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    before = sum(_size(p) for p in artifacts)
    failed = [p.name for p in artifacts if not compile_tree(p)]
    missing = [m for p in artifacts for m in without_bytecode(p)]
    after = sum(_size(p) for p in artifacts)
    sources = sum(1 for p in artifacts for _ in p.rglob("*.py"))
    if failed or missing:
        print(f"bytecode: compiling failed in {failed or 'none'}; {len(missing)} source(s) "
              f"without it, e.g. {[str(m) for m in missing[:5]]}", file=sys.stderr)
        return 1
    print(
        f"bytecode: {sources} modules in {len(artifacts)} artifacts compiled for "
        f"python{wanted[0]}.{wanted[1]} (checked-hash) in {time.monotonic() - started:.1f} s; "
        f"{before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB unzipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
