"""`make build` leaves bytecode in the artifacts that Lambda can use (infra/precompile.py).

SAM ships sources only, and zips every file dated 1980-01-01; /opt and /var/task are
read-only, so without bytecode that survives those dates each cold start compiles every
module again.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from infra import precompile
from tests.helpers import count_compiles

SAM_ZIP_DATE = 315532800  # 1980-01-01T00:00:00Z, the date SAM's zips give every file


def _artifact(root: Path, answer: int = 42) -> Path:
    """A built artifact as SAM leaves it: a package, sources only."""
    package = root / "pkg"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(f"ANSWER = {answer}\n")
    return root


def _as_unzipped_on_lambda(root: Path) -> None:
    for path in root.rglob("*"):
        os.utime(path, (SAM_ZIP_DATE, SAM_ZIP_DATE))


def _import(root: Path) -> tuple[str, int]:
    """Imports pkg.mod in a fresh interpreter that cannot write bytecode (as on Lambda):
    (its ANSWER, how many modules it compiled from source)."""
    answer, compiled = count_compiles(sys.executable, root, "pkg.mod", "pkg.mod.ANSWER")
    return answer, int(compiled)


def test_without_bytecode_every_module_is_compiled_at_import(tmp_path: Path) -> None:
    root = _artifact(tmp_path)
    _as_unzipped_on_lambda(root)

    assert _import(root) == ("42", 2)
    assert len(precompile.without_bytecode(root)) == 2


def test_the_bytecode_is_used_whatever_the_zip_dates_say(tmp_path: Path) -> None:
    root = _artifact(tmp_path)
    assert precompile.compile_tree(root)
    _as_unzipped_on_lambda(root)

    assert precompile.without_bytecode(root) == []
    assert _import(root) == ("42", 0), "no module compiled from source"


def test_a_source_that_changed_after_compiling_is_compiled_again_never_run_stale(
    tmp_path: Path,
) -> None:
    root = _artifact(tmp_path)
    assert precompile.compile_tree(root)
    _artifact(root, answer=43)  # same size, new content
    _as_unzipped_on_lambda(root)

    assert precompile.without_bytecode(root) == [root / "pkg" / "mod.py"]
    assert _import(root) == ("43", 1), "the new source runs, not the old bytecode"


def test_timestamp_bytecode_counts_as_missing(tmp_path: Path) -> None:
    """What pip or a plain `compileall` write: rejected once the zip has redated the source."""
    import compileall

    root = _artifact(tmp_path)
    assert compileall.compile_dir(root, quiet=1)

    assert len(precompile.without_bytecode(root)) == 2


def test_it_refuses_an_interpreter_other_than_the_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(precompile, "runtime_version", lambda: (3, 99))

    assert precompile.main([str(_artifact(tmp_path))]) == 2
    assert "python3.99" in capsys.readouterr().err


def test_the_runtime_is_read_from_the_template() -> None:
    assert precompile.runtime_version() == (3, 13)


def test_it_compiles_every_artifact_and_says_how_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(precompile, "runtime_version", lambda: sys.version_info[:2])
    for name in ("ConveneLayer", "RegistrationsFunction"):
        _artifact(tmp_path / name)
    (tmp_path / "template.yaml").write_text("")

    assert precompile.main([str(tmp_path)]) == 0
    assert "4 modules in 2 artifacts" in capsys.readouterr().out
    assert precompile.without_bytecode(tmp_path) == []
