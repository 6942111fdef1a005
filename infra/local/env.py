"""The functions' environment in the twin: template.yaml's variables, resolved to strings.

CloudFormation resolves `!Ref`, `!GetAtt`, `!Sub` and friends at deploy time; the twin does
it here, against what it started (DynamoDB Local tables, moto's user pool, queues, topics,
secrets). The result is one environment for every function (the union of Globals and each
function's own variables; where two functions disagree, e.g. POWERTOOLS_SERVICE_NAME, the
per-function values are also kept apart by `function_environments`), plus the variables only
the twin needs (endpoints, dummy credentials).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local import template

REGION = "eu-west-2"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK = "convene-local"

# Services whose ARNs carry no region (or no account) in AWS.
_ARN_SERVICE = {
    "AWS::DynamoDB::Table": ("dynamodb", "table/{name}"),
    "AWS::SQS::Queue": ("sqs", "{name}"),
    "AWS::SNS::Topic": ("sns", "{name}"),
    "AWS::SecretsManager::Secret": ("secretsmanager", "secret:{name}"),
    "AWS::Cognito::UserPool": ("cognito-idp", "userpool/{name}"),
    "AWS::Serverless::Function": ("lambda", "function:{name}"),
    "AWS::Lambda::Function": ("lambda", "function:{name}"),
    "AWS::Logs::LogGroup": ("logs", "log-group:{name}:*"),
    "AWS::Scheduler::ScheduleGroup": ("scheduler", "schedule-group/{name}"),
    "AWS::Scheduler::Schedule": ("scheduler", "schedule/default/{name}"),
    "AWS::SES::ConfigurationSet": ("ses", "configuration-set/{name}"),
    "AWS::IAM::Role": ("iam", "role/{name}"),
    "AWS::Events::Rule": ("events", "rule/{name}"),
    "AWS::Serverless::Api": ("execute-api", "{name}"),
    "AWS::Serverless::LayerVersion": ("lambda", "layer:{name}:1"),
}

_NO_VALUE = object()


class UnresolvedError(ValueError):
    pass


def parameter_overrides(gateway_port: int) -> dict[str, str]:
    """Parameters whose template defaults make no sense on a laptop."""
    site = f"http://localhost:{gateway_port}"
    return {"Stage": "local", "SiteUrl": site, "AllowedOrigin": site}


def default_physical_name(doc: Mapping[str, Any], logical_id: str) -> str:
    """What `!Ref` gives for a resource the twin did not create itself."""
    kind = doc.get("Resources", {}).get(logical_id, {}).get("Type", "")
    if kind == "AWS::DynamoDB::Table":
        return template.table_name(logical_id)
    return f"{STACK}-{logical_id}"


@dataclass
class Resolver:
    """Evaluates CloudFormation intrinsic functions against the twin's resources.

    `refs` maps a logical id to what `!Ref` returns (a queue URL, a topic ARN, a pool id);
    `attrs` maps a logical id to its `!GetAtt` attributes ({"Arn": ...}). Anything not in
    them gets a plausible name or ARN, so a new resource in the template never stops the
    twin from starting.
    """

    doc: Mapping[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)
    region: str = REGION
    account_id: str = ACCOUNT_ID
    stack_name: str = STACK

    # ------------------------------------------------------------ names

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name])
        spec = self.doc.get("Parameters", {}).get(name)
        if spec is None:
            raise UnresolvedError(f"unknown parameter {name}")
        if "Default" not in spec:
            raise UnresolvedError(f"parameter {name} has no Default and no twin value")
        default = spec["Default"]
        if isinstance(default, list):
            return ",".join(str(v) for v in default)
        return str(default)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": "",
            "AWS::NoValue": _NO_VALUE,
        }
        if name not in values:
            raise UnresolvedError(f"unknown pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.refs:
            return self.refs[name]
        if name in self.doc.get("Parameters", {}):
            return self.parameter(name)
        if name in self.doc.get("Resources", {}):
            return default_physical_name(self.doc, name)
        raise UnresolvedError(f"!Ref to unknown name {name}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        known = self.attrs.get(logical_id, {})
        if attribute in known:
            return known[attribute]
        resources = self.doc.get("Resources", {})
        if logical_id not in resources:
            raise UnresolvedError(f"!GetAtt to unknown resource {logical_id}")
        kind = resources[logical_id].get("Type", "")
        name = str(self.ref(logical_id))
        if attribute == "Arn":
            return self.arn(kind, name, logical_id)
        if attribute == "StreamArn" and kind == "AWS::DynamoDB::Table":
            return f"{self.arn(kind, name, logical_id)}/stream/1970-01-01T00:00:00.000"
        if attribute in {"QueueName", "TopicName", "Name"}:
            return name.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if attribute == "QueueUrl":
            return name
        if attribute == "ProviderURL" and kind == "AWS::Cognito::UserPool":
            return f"cognito-idp.{self.region}.amazonaws.com/{name}"
        return f"{logical_id}.{attribute}"

    def arn(self, kind: str, name: str, logical_id: str) -> str:
        if name.startswith("arn:"):
            return name
        service, resource = _ARN_SERVICE.get(
            kind, (kind.split("::")[1].lower() if "::" in kind else "cloudformation", "{name}")
        )
        if kind == "AWS::SQS::Queue":
            name = name.rsplit("/", 1)[-1]
        if service == "iam":
            return f"arn:aws:iam::{self.account_id}:{resource.format(name=name)}"
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource.format(name=name)}"

    # ------------------------------------------------------------ intrinsics

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg)
        out = {}
        for k, v in value.items():
            resolved = self.resolve(v)
            if resolved is not _NO_VALUE:
                out[k] = resolved
        return out

    def resolve_str(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, list):
            return ",".join(str(v) for v in resolved)
        return str(resolved)

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else [self.resolve(a) for a in arg]
            return self.get_att(str(parts[0]), str(parts[1]))
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            sep, items = arg
            return str(self.resolve(sep)).join(str(v) for v in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(str(self.resolve(sep)))
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::FindInMap":
            name, top, second = (self.resolve(a) for a in arg)
            return self.doc["Mappings"][name][top][second]
        if key == "Fn::If":
            cond, yes, no = arg
            return self.resolve(yes if self.condition(cond) else no)
        if key in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}:
            return self._boolean(key, arg)
        if key == "Fn::GetAZs":
            return [f"{self.region}a", f"{self.region}b", f"{self.region}c"]
        if key == "Fn::ImportValue":
            return f"imported-{self.resolve(arg)}"
        raise UnresolvedError(f"{key} is not supported by the twin")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal}
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    def condition(self, name: str) -> bool:
        spec = self.doc.get("Conditions", {}).get(name)
        if spec is None:
            raise UnresolvedError(f"unknown condition {name}")
        return bool(self.resolve(spec))

    def _boolean(self, key: str, arg: Any) -> bool:
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        return any(self.resolve(a) for a in arg)  # Fn::Or


# ---------------------------------------------------------------- the environment


def twin_variables(
    *, dynamodb_endpoint: str, moto_endpoint: str, user_pool_id: str, region: str = REGION
) -> dict[str, str]:
    """Variables only the twin sets: where the emulators are, and credentials they accept."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # Dummy credentials: DynamoDB Local (-sharedDb) and moto accept any.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local-secret",
        # Service-specific endpoints win over AWS_ENDPOINT_URL (botocore >= 1.31).
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_endpoint,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "COGNITO_JWKS_URL": f"{moto_endpoint}/{user_pool_id}/.well-known/jwks.json",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # No EMF lines on stdout: there is no CloudWatch to read them.
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def function_environments(doc: Mapping[str, Any], resolver: Resolver) -> dict[str, dict[str, str]]:
    """{function logical id: its variables (Globals, then its own), resolved}."""
    result = {}
    for spec in template.functions(dict(doc)):
        env = {}
        for name, value in spec.environment.items():
            resolved = resolver.resolve(value)
            if resolved is _NO_VALUE:
                continue
            env[name] = resolver.resolve_str(value)
        result[spec.logical_id] = env
    return result


def function_environment(logical_id: str) -> dict[str, str]:
    """One function's variables as template.yaml resolves them offline, parameters at
    their defaults: what a process that imports the handler outside the twin needs."""
    doc = template.load()
    return function_environments(doc, Resolver(doc))[logical_id]


def resolve_environment(
    doc: Mapping[str, Any],
    resolver: Resolver,
    *,
    dynamodb_endpoint: str,
    moto_endpoint: str,
    user_pool_id: str,
) -> dict[str, str]:
    """The union environment every function runs with in the twin.

    Globals first, then each function's own variables (in template order: on a conflict the
    last function wins, which only matters for names like POWERTOOLS_SERVICE_NAME), then
    the twin's own variables.
    """
    env: dict[str, str] = {}
    glob = doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for name, value in glob.items():
        if resolver.resolve(value) is not _NO_VALUE:
            env[name] = resolver.resolve_str(value)
    for per_function in function_environments(doc, resolver).values():
        env.update(per_function)
    env.update(
        twin_variables(
            dynamodb_endpoint=dynamodb_endpoint,
            moto_endpoint=moto_endpoint,
            user_pool_id=user_pool_id,
            region=resolver.region,
        )
    )
    return env
