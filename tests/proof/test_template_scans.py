"""Security and correctness scans of template.yaml: checkov on the template and on the
template after the SAM transform, cfn-lint on the template, all with zero failures.

Every exception is written next to its resource, with its reason:
checkov `Metadata: {checkov: {skip: [{id, comment}]}}`, cfn-lint
`Metadata: {cfn-lint: {config: {ignore_checks: [...]}}}`. A skip on a SAM resource
covers what SAM generates from it (the transform passes Metadata through, as `sam build`
does). Nothing is skipped on the command line.

The tools live in their own virtualenvs (their pins fight the app's): checkov in
.tools-checkov (requirements/checkov.txt), cfn-lint and the SAM translator in .tools-sam
(requirements/sam.txt). `make scan-tools` installs both; a test whose tool is missing
fails and says so (CI installs them), unless CONVENE_SKIP_SCANS=1.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CHECKOV = ROOT / ".tools-checkov" / "bin" / "checkov"
SAM_PYTHON = ROOT / ".tools-sam" / "bin" / "python"
CFN_LINT = ROOT / ".tools-sam" / "bin" / "cfn-lint"
HOW = "run `make scan-tools` (or set CONVENE_SKIP_SCANS=1 to leave the scans out)"


def _tool(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CONVENE_SKIP_SCANS") == "1":
            pytest.skip(f"{path.relative_to(ROOT)} is not installed (CONVENE_SKIP_SCANS=1)")
        pytest.fail(f"{path.relative_to(ROOT)} is not installed: {HOW}", pytrace=False)
    return path


def _checkov(target: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            str(_tool(CHECKOV)),
            "--file",
            str(target),
            "--framework",
            "cloudformation",
            "--skip-download",  # offline: no guideline download
            "--output",
            "json",
            "--quiet",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=target.parent,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": ""},
        check=False,
    )
    if not out.stdout.strip():
        pytest.fail(f"checkov printed nothing (exit {out.returncode}):\n{out.stderr[-3000:]}")
    report = json.loads(out.stdout)
    if isinstance(report, list):
        report = next((r for r in report if r.get("check_type") == "cloudformation"), report[0])
    return dict(report)


def _failures(report: dict[str, Any]) -> list[str]:
    failed = (report.get("results") or {}).get("failed_checks") or []
    return [
        f"{f['check_id']} on {f['resource']}: {f['check_name']} "
        f"(add Metadata: checkov: skip: [{{id: {f['check_id']}, comment: <why>}}] to the "
        "resource if it does not apply)"
        for f in failed
    ]


def _skips_without_reason(report: dict[str, Any]) -> list[str]:
    skipped = (report.get("results") or {}).get("skipped_checks") or []
    return [
        f"{s['check_id']} on {s['resource']}"
        for s in skipped
        if not str(s.get("suppress_comment") or "").strip()
        or str(s.get("suppress_comment")).strip() == "No comment provided"
    ]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = subprocess.run(
        [str(_tool(SAM_PYTHON)), str(ROOT / "tests" / "proof" / "sam_transform.py"),
         str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    errors = [line for line in out.stderr.splitlines() if line.startswith("SAM transform error")]
    assert out.returncode == 0, "the SAM transform refused template.yaml:\n" + "\n".join(
        errors or [out.stderr[-3000:]]
    )
    path = tmp_path_factory.mktemp("sam") / "template.transformed.json"
    path.write_text(out.stdout)
    return path


def test_the_sam_transform_accepts_the_template(transformed: Path) -> None:
    doc = json.loads(transformed.read_text())
    kinds = {r["Type"] for r in doc["Resources"].values()}
    assert "AWS::Lambda::Function" in kinds
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)


@pytest.fixture(scope="module")
def template_report() -> dict[str, Any]:
    return _checkov(TEMPLATE)


def test_checkov_finds_nothing_in_the_template(template_report: dict[str, Any]) -> None:
    report = template_report
    assert not _failures(report), "\n".join(_failures(report))
    assert report.get("summary", {}).get("parsing_errors", 0) == 0


def test_checkov_finds_nothing_in_the_transformed_template(transformed: Path) -> None:
    report = _checkov(transformed)
    assert not _failures(report), "\n".join(_failures(report))
    assert report.get("summary", {}).get("parsing_errors", 0) == 0


def test_every_checkov_skip_says_why(template_report: dict[str, Any]) -> None:
    report = template_report
    assert not _skips_without_reason(report), _skips_without_reason(report)


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    out = subprocess.run(
        [str(_tool(CFN_LINT)), "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, f"cfn-lint (exit {out.returncode}):\n{out.stdout}{out.stderr}"


def test_cfn_lint_finds_nothing_in_the_transformed_template(transformed: Path) -> None:
    out = subprocess.run(
        [str(_tool(CFN_LINT)), "--format", "parseable", str(transformed)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, f"cfn-lint (exit {out.returncode}):\n{out.stdout}{out.stderr}"


def test_every_cfn_lint_exception_is_written_next_to_its_resource() -> None:
    from infra.local import template

    doc = template.load()
    assert "cfn-lint" not in (doc.get("Metadata") or {}), (
        "template-wide cfn-lint exceptions: write each on its resource instead"
    )
    for name, res in (doc.get("Resources") or {}).items():
        config = ((res.get("Metadata") or {}).get("cfn-lint") or {}).get("config") or {}
        for check in config.get("ignore_checks") or []:
            reason = (res.get("Metadata") or {}).get("cfn-lint-reasons", {}).get(check)
            assert reason, (
                f"{name} ignores cfn-lint {check} without a reason: add "
                f"Metadata: cfn-lint-reasons: {{{check}: <why>}} beside it"
            )
