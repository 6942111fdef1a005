"""Reads template.yaml: the one place the twin and the tests learn what resources exist.

CloudFormation's short tags (!Ref, !GetAtt, !Sub...) are read into their long form
({"Ref": ...}), so nothing here depends on cfn-lint or the SAM translator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _multi(tag: str):  # type: ignore[no-untyped-def]
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in ("Ref", "GetAtt", "Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select",
             "Split", "FindInMap", "ImportValue", "Base64", "GetAZs", "Condition", "Cidr"):
    _CfnLoader.add_constructor(f"!{_tag}", _multi(_tag))


@lru_cache(maxsize=4)
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def resources(
    doc: dict[str, Any] | None = None, kind: str | None = None
) -> dict[str, dict[str, Any]]:
    doc = doc or load()
    return {
        name: res
        for name, res in doc.get("Resources", {}).items()
        if kind is None or res.get("Type") == kind
    }


def table_name(logical_id: str, stack: str = "convene-local") -> str:
    """The physical name the twin and the tests give a table."""
    return f"{stack}-{logical_id}"


def create_table_args(
    logical_id: str, props: dict[str, Any], stack: str = "convene-local"
) -> dict[str, Any]:
    """CreateTable arguments for one AWS::DynamoDB::Table, as the template declares it."""
    args: dict[str, Any] = {
        "TableName": table_name(logical_id, stack),
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("LocalSecondaryIndexes"):
        args["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        args["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": props["StreamSpecification"]["StreamViewType"],
        }
    return args


@dataclass
class TableSpec:
    logical_id: str
    create_args: dict[str, Any]
    ttl_attribute: str | None = None


def tables(stack: str = "convene-local", doc: dict[str, Any] | None = None) -> list[TableSpec]:
    specs = []
    for logical_id, res in resources(doc, "AWS::DynamoDB::Table").items():
        props = res["Properties"]
        ttl = props.get("TimeToLiveSpecification") or {}
        specs.append(
            TableSpec(
                logical_id=logical_id,
                create_args=create_table_args(logical_id, props, stack),
                ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
            )
        )
    return specs


def create_tables(
    dynamodb_client: Any, stack: str = "convene-local", doc: dict[str, Any] | None = None
) -> dict[str, str]:
    """Creates every table the template (or `doc`) declares (skipping those that exist),
    with TTL. Returns {logical id: physical name}."""
    existing = set(dynamodb_client.list_tables().get("TableNames", []))
    names = {}
    for spec in tables(stack, doc):
        name = spec.create_args["TableName"]
        names[spec.logical_id] = name
        if name in existing:
            continue
        dynamodb_client.create_table(**spec.create_args)
        dynamodb_client.get_waiter("table_exists").wait(TableName=name)
        if spec.ttl_attribute:
            dynamodb_client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
    return names


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout: int = 3


def functions(doc: dict[str, Any] | None = None) -> list[FunctionSpec]:
    doc = doc or load()
    glob = doc.get("Globals", {}).get("Function", {})
    specs = []
    for logical_id, res in resources(doc, "AWS::Serverless::Function").items():
        props = res["Properties"]
        module, _, handler = props["Handler"].rpartition(".")
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        env.update(props.get("Environment", {}).get("Variables", {}))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_dir=ROOT / props["CodeUri"],
                module=module,
                handler=handler,
                environment=env,
                events=props.get("Events", {}) or {},
                timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
            )
        )
    return specs
