"""Prints template.yaml as CloudFormation after the SAM transform, as JSON.

Run with the SAM CLI's Python (.tools-sam/bin/python tests/proof/sam_transform.py
template.yaml): the translator is AWS's own (aws-sam-translator, a SAM CLI dependency),
offline; local CodeUri/ContentUri folders become S3 names as `sam package` makes them.
`passthrough_metadata` copies each SAM resource's Metadata (its checkov skips)
to every resource generated from it, as `sam build` does.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class _NoManagedPolicies:
    """The template names no AWS managed policy; nothing needs looking up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def main(path: str) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    with open(path, encoding="utf-8") as fh:
        sam: dict[str, Any] = yaml_parse(fh.read())
    # As `sam package` would: local code folders become S3 objects (names only, offline).
    for logical_id, res in (sam.get("Resources") or {}).items():
        props = res.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://convene-artifacts/{logical_id}.zip"
    parameters = {
        "AWS::Region": "eu-west-2",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "convene",
        "AWS::StackId": "arn:aws:cloudformation:eu-west-2:123456789012:stack/convene/1",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    for name, spec in (sam.get("Parameters") or {}).items():
        if "Default" in spec:
            parameters[name] = spec["Default"]
    try:
        out = transform(sam, parameters, _NoManagedPolicies(), passthrough_metadata=True)
    except InvalidDocumentException as exc:
        for cause in exc.causes:
            print(f"SAM transform error: {cause.message}", file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
