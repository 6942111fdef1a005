"""The bytecode `make build` writes reaches Lambda and is used there (infra/precompile.py).

tests/unit/test_precompile.py checks the bytecode itself. This follows it through the
toolchain a deploy uses, end to end, with the real tools:
- `python3.13 -m infra.precompile`, the step `make build` runs after `sam build`;
- SAM CLI's own packaging (`zip_folder` with `make_zip_with_lambda_permissions`, what
  `sam deploy` and `sam package` call for every function and layer folder), which
  dates every file 1980-01-01;
- the zip unpacked as Lambda unpacks it: the zip's dates, read-only, an interpreter that
  cannot write bytecode, the runtime's own Python.
Then it counts the modules that import compiled from source: none.

What only AWS can show is the Init Duration of a deployed function (docs/deployment.md).

The SAM CLI lives in .tools-sam (`make scan-tools`, which `make test` runs first); a
missing tool fails the test and says so, unless CONVENE_SKIP_SCANS=1.
"""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from tests.helpers import count_compiles

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".tools-sam" / "bin" / "python"

# SAM CLI's packaging, as `sam deploy` runs it on a built function or layer folder.
_SAM_ZIP = textwrap.dedent(
    """
    import shutil, sys
    from samcli.lib.package.utils import make_zip_with_lambda_permissions, zip_folder
    with zip_folder(sys.argv[1], zip_method=make_zip_with_lambda_permissions) as (made, _):
        shutil.copy(made, sys.argv[2])
    """
)


def _skip_or_fail(why: str) -> None:
    if os.environ.get("CONVENE_SKIP_SCANS") == "1":
        pytest.skip(f"{why} (CONVENE_SKIP_SCANS=1)")
    pytest.fail(why, pytrace=False)


def _python313() -> Path:
    found = subprocess.run(
        ["bash", str(ROOT / "scripts" / "python313-dir.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        _skip_or_fail(f"python3.13, the functions' runtime, is missing: {found.stderr.strip()}")
    return Path(found.stdout.strip()) / "python3.13"


def _layer(build: Path) -> Path:
    """A built layer folder as `sam build` leaves it: sources only, under python/."""
    package = build / "ShopLayer" / "python" / "shop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "money.py").write_text("def pence(n):\n    return n * 100\n")
    (package / "prices.py").write_text(
        "from shop.money import pence\n\ndef total(items):\n    return sum(map(pence, items))\n"
    )
    return build / "ShopLayer"


def _unzip_as_lambda_does(archive: Path, into: Path) -> None:
    """Files get the zip's own dates; then everything is read-only, as /opt is."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, into))
            when = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (when, when))
    for path in sorted(into.rglob("*"), reverse=True):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _tools() -> Path:
    if not SAM_PYTHON.exists():
        _skip_or_fail(".tools-sam is not installed: run `make scan-tools`")
    return _python313()


def _deploy_and_import(layer: Path, python: Path, tmp_path: Path) -> list[str]:
    """Packages the layer folder with SAM, unpacks it as Lambda does and imports from it:
    [the answer, whether it ran on 3.13, modules compiled from source]."""
    archive = tmp_path / "layer.zip"
    subprocess.run([str(SAM_PYTHON), "-c", _SAM_ZIP, str(layer), str(archive)], check=True)
    with zipfile.ZipFile(archive) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    opt = tmp_path / "opt"
    _unzip_as_lambda_does(archive, opt)
    try:
        return count_compiles(
            python,
            opt / "python",
            "shop.prices",
            "shop.prices.total([2, 3]), sys.version_info[:2] == (3, 13)",
        )
    finally:
        for path in opt.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)  # so tmp_path can be removed


def test_a_deployed_layer_imports_without_compiling_a_module(tmp_path: Path) -> None:
    python = _tools()
    build = tmp_path / "build"
    layer = _layer(build)

    made = subprocess.run(
        [str(python), "-m", "infra.precompile", str(build)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "3 modules in 1 artifacts compiled for python3.13 (checked-hash)" in made.stdout

    assert _deploy_and_import(layer, python, tmp_path) == ["500", "True", "0"], (
        "no module compiled from source"
    )


def test_without_the_bytecode_step_the_same_layer_compiles_every_module(tmp_path: Path) -> None:
    """The control: the same chain without `infra.precompile`, as a bare `sam build` ships."""
    python = _tools()
    layer = _layer(tmp_path / "build")

    assert _deploy_and_import(layer, python, tmp_path) == ["500", "True", "3"]
