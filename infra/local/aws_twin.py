"""moto, in this process, with the resources template.yaml declares.

    moto = MotoTwin(5005).start()
    twin = provision(doc, moto.endpoint, parameters=parameter_overrides(3000))
    twin.user_pool_id, twin.client_id, twin.users, twin.resolver ...

Resources are created by type, never by name, so a queue, topic, secret or configuration
set that someone adds to the template exists in the twin on its next start:

| template type | in moto | `!Ref` gives |
|---|---|---|
| AWS::Cognito::UserPool | a pool with the template's username attributes and policies | pool id |
| AWS::Cognito::UserPoolClient | the client, plus USER_PASSWORD_AUTH (scripts sign in) | client id |
| AWS::Cognito::UserPoolGroup | the group | group name |
| AWS::SQS::Queue | the queue (redrive policies after every queue exists) | queue URL |
| AWS::SNS::Topic, AWS::SNS::Subscription | the topic; sqs subscriptions | topic ARN |
| AWS::SecretsManager::Secret | a secret with a random value (GenerateSecretString) | secret ARN |
| AWS::SES::ConfigurationSet, AWS::SESV2::ConfigurationSet | the configuration set | its name |
| AWS::SES::EmailIdentity | the identity, verified | the identity |

The sender's domain (parameter SenderAddress) is verified so every send succeeds, and demo
users get random development passwords at each start (moto keeps nothing between starts).

moto runs in this process (ThreadedMotoServer) so the mail view reads what SES was asked to
send straight from moto's SES backend (`sent_mail()`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import string
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from infra.local.env import ACCOUNT_ID, REGION, STACK, Resolver, UnresolvedError

# role -> (email local part, display name, Cognito group)
DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("member", "member", "Amara Okafor", "members"),
    ("moderator", "moderator", "Jonah Reid", "moderators"),
    ("moderator2", "moderator2", "Mei Lin", "moderators"),
    ("organiser", "organiser", "Ruth Evans", "organisers"),
)
DEMO_DOMAIN = "community.example.org"


# ---------------------------------------------------------------- the server


class MotoTwin:
    """moto's server on 127.0.0.1:port in a daemon thread of this process."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        from moto.server import ThreadedMotoServer

        self.host, self.port = host, port
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        # One access-log line per AWS call drowns the twin's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._started = False

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoTwin:
        self._server.start()
        self._started = True
        stamp_sent_mail()
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._server.stop()


def client(service: str, endpoint: str, region: str = REGION) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",  # noqa: S106 - moto accepts any
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2),
    )


# ---------------------------------------------------------------- what was created


@dataclass
class DemoUser:
    role: str
    username: str
    email: str
    name: str
    password: str
    groups: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Provisioned:
    """What the twin created in moto, by logical id."""

    resolver: Resolver
    endpoint: str
    region: str = REGION
    account_id: str = ACCOUNT_ID
    user_pool_id: str = ""
    user_pool_logical_id: str = ""
    client_id: str = ""
    users: list[DemoUser] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    configuration_sets: dict[str, str] = field(default_factory=dict)
    email_identities: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.user_pool_id}/.well-known/jwks.json"

    def user(self, role: str) -> DemoUser:
        for user in self.users:
            if role in {user.role, user.username, user.email}:
                return user
        raise KeyError(f"no demo user {role!r}; roles: {[u.role for u in self.users]}")


def _props(resolver: Resolver, res: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resolver.resolve(res.get("Properties", {}) or {}))


def _of_type(doc: Mapping[str, Any], *kinds: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for logical_id, res in doc.get("Resources", {}).items():
        if res.get("Type") in kinds:
            yield logical_id, res


@contextlib.contextmanager
def _noted(twin: Provisioned, logical_id: str) -> Iterator[None]:
    """One resource the twin cannot create is a warning, not a twin that cannot start."""
    try:
        yield
    except (
        ClientError,
        ParamValidationError,
        UnresolvedError,
        KeyError,
        TypeError,
        ValueError,
    ) as exc:
        twin.notes.append(f"{logical_id} was not created in moto: {type(exc).__name__}: {exc}")


def _physical(logical_id: str, suffix: str = "") -> str:
    return f"{STACK}-{logical_id}{suffix}"


# ---------------------------------------------------------------- provisioning


def provision(
    doc: Mapping[str, Any],
    endpoint: str,
    *,
    parameters: Mapping[str, str] | None = None,
    region: str = REGION,
) -> Provisioned:
    """Creates every supported resource of the template in moto at endpoint."""
    resolver = Resolver(doc, parameters=dict(parameters or {}), region=region)
    twin = Provisioned(resolver=resolver, endpoint=endpoint, region=region)
    _secrets(doc, twin)
    _queues(doc, twin)
    _topics(doc, twin)
    _email(doc, twin)
    _cognito(doc, twin)
    return twin


def random_password(length: int = 20) -> str:
    """Satisfies any Cognito policy: upper, lower, digits and a symbol."""
    length = max(length, 12)
    alphabet = string.ascii_letters + string.digits
    while True:
        body = [secrets.choice(alphabet) for _ in range(length - 1)]
        value = "".join(body) + "-"
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and sum(c.isdigit() for c in value) >= 2
        ):
            return value


def _generate_secret_string(spec: Mapping[str, Any]) -> str:
    length = int(spec.get("PasswordLength", 32))
    alphabet = ""
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?[]^_{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabet = "".join(c for c in alphabet if c not in excluded) or string.ascii_letters
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        data = json.loads(spec["SecretStringTemplate"])
        data[spec["GenerateStringKey"]] = value
        return json.dumps(data)
    return value


def _secrets(doc: Mapping[str, Any], twin: Provisioned) -> None:
    sm = client("secretsmanager", twin.endpoint, twin.region)
    for logical_id, res in _of_type(doc, "AWS::SecretsManager::Secret"):
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            name = props.get("Name") or _physical(logical_id)
            if "SecretString" in props:
                value = str(props["SecretString"])
            else:
                value = _generate_secret_string(props.get("GenerateSecretString") or {})
            created = sm.create_secret(
                Name=name, SecretString=value, Description=props.get("Description", "")
            )
            twin.secrets[logical_id] = created["ARN"]
            twin.resolver.refs[logical_id] = created["ARN"]
            twin.resolver.attrs[logical_id] = {"Id": created["ARN"]}


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def _queues(doc: Mapping[str, Any], twin: Provisioned) -> None:
    sqs = client("sqs", twin.endpoint, twin.region)
    queues = list(_of_type(doc, "AWS::SQS::Queue"))
    # Names first (so redrive policies and Subs can refer to any queue), then the queues.
    for logical_id, res in queues:
        with _noted(twin, logical_id):
            props = res.get("Properties") or {}
            fifo = str(props.get("FifoQueue", "")).lower() == "true"
            name = props.get("QueueName")
            suffix = ".fifo" if fifo else ""
            name = twin.resolver.resolve_str(name) if name else _physical(logical_id, suffix)
            url = f"{twin.endpoint}/{twin.account_id}/{name}"
            twin.resolver.refs[logical_id] = url
            twin.resolver.attrs[logical_id] = {
                "Arn": f"arn:aws:sqs:{twin.region}:{twin.account_id}:{name}",
                "QueueName": name,
                "QueueUrl": url,
            }
    redrives = {}
    for logical_id, res in queues:
        if logical_id not in twin.resolver.attrs:
            continue
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            name = twin.resolver.attrs[logical_id]["QueueName"]
            attributes = {
                key: (str(props[key]).lower() if isinstance(props[key], bool) else str(props[key]))
                for key in _QUEUE_ATTRIBUTES
                if key in props
            }
            created = sqs.create_queue(QueueName=name, Attributes=attributes)
            twin.queues[logical_id] = created["QueueUrl"]
            twin.resolver.refs[logical_id] = created["QueueUrl"]
            twin.resolver.attrs[logical_id]["QueueUrl"] = created["QueueUrl"]
            if props.get("RedrivePolicy"):
                redrives[logical_id] = (created["QueueUrl"], props["RedrivePolicy"])
    for logical_id, (url, policy) in redrives.items():
        with _noted(twin, logical_id):
            text = policy if isinstance(policy, str) else json.dumps(policy)
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": text})


def _topics(doc: Mapping[str, Any], twin: Provisioned) -> None:
    sns = client("sns", twin.endpoint, twin.region)
    for logical_id, res in _of_type(doc, "AWS::SNS::Topic"):
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            fifo = str(props.get("FifoTopic", "")).lower() == "true"
            name = props.get("TopicName") or _physical(logical_id, ".fifo" if fifo else "")
            attributes = {"FifoTopic": "true"} if fifo else {}
            if props.get("DisplayName"):
                attributes["DisplayName"] = str(props["DisplayName"])
            arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
            twin.topics[logical_id] = arn
            twin.resolver.refs[logical_id] = arn
            twin.resolver.attrs[logical_id] = {"TopicArn": arn, "TopicName": name}
            for sub in props.get("Subscription") or []:
                _subscribe(sns, twin, arn, sub.get("Protocol", ""), sub.get("Endpoint", ""))
    for logical_id, res in _of_type(doc, "AWS::SNS::Subscription"):
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            _subscribe(
                sns,
                twin,
                str(props.get("TopicArn", "")),
                props.get("Protocol", ""),
                props.get("Endpoint", ""),
            )


def _subscribe(sns: Any, twin: Provisioned, topic_arn: str, protocol: str, endpoint: str) -> None:
    # Lambda subscriptions are delivered by the twin (POST /_local/sns/<Topic>); moto
    # delivers sqs subscriptions itself.
    if protocol == "sqs":
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=str(endpoint))


def _email(doc: Mapping[str, Any], twin: Provisioned) -> None:
    ses = client("ses", twin.endpoint, twin.region)
    sesv2 = client("sesv2", twin.endpoint, twin.region)
    kinds = ("AWS::SES::ConfigurationSet", "AWS::SESV2::ConfigurationSet")
    for logical_id, res in _of_type(doc, *kinds):
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            name = props.get("Name") or _physical(logical_id)
            twin.configuration_sets[logical_id] = name
            twin.resolver.refs[logical_id] = name
            sesv2.create_configuration_set(ConfigurationSetName=name)
    for logical_id, res in _of_type(doc, "AWS::SES::EmailIdentity"):
        with _noted(twin, logical_id):
            props = _props(twin.resolver, res)
            identity = str(props.get("EmailIdentity", ""))
            if identity:
                _verify(ses, twin, identity)
                twin.resolver.refs[logical_id] = identity
    sender = _sender_address(doc, twin.resolver)
    if sender:
        _verify(ses, twin, sender.rpartition("@")[2])


def _sender_address(doc: Mapping[str, Any], resolver: Resolver) -> str:
    params = doc.get("Parameters", {})
    if "SenderAddress" not in params:
        return ""
    return resolver.parameter("SenderAddress")


def _verify(ses: Any, twin: Provisioned, identity: str) -> None:
    if identity in twin.email_identities:
        return
    if "@" in identity:
        ses.verify_email_identity(EmailAddress=identity)
    else:
        ses.verify_domain_identity(Domain=identity)
    twin.email_identities.append(identity)


_POOL_PROPERTIES = (
    "UsernameAttributes",
    "AliasAttributes",
    "AutoVerifiedAttributes",
    "Policies",
    "Schema",
    "MfaConfiguration",
    "AdminCreateUserConfig",
    "AccountRecoverySetting",
    "UsernameConfiguration",
    "DeletionProtection",
    "UserAttributeUpdateSettings",
    "VerificationMessageTemplate",
)

_CLIENT_PROPERTIES = (
    "ClientName",
    "GenerateSecret",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
)

# What the twin adds to every app client: scripts and tests sign in with a password.
SCRIPT_AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")


def _cognito(doc: Mapping[str, Any], twin: Provisioned) -> None:
    idp = client("cognito-idp", twin.endpoint, twin.region)
    pools = list(_of_type(doc, "AWS::Cognito::UserPool"))
    min_length = 12
    for logical_id, res in pools:
        props = _props(twin.resolver, res)
        args = {k: props[k] for k in _POOL_PROPERTIES if k in props}
        pool = idp.create_user_pool(
            PoolName=str(props.get("UserPoolName") or _physical(logical_id)), **args
        )["UserPool"]
        twin.resolver.refs[logical_id] = pool["Id"]
        twin.resolver.attrs[logical_id] = {
            "Arn": pool["Arn"],
            "UserPoolId": pool["Id"],
            "ProviderName": f"cognito-idp.{twin.region}.amazonaws.com/{pool['Id']}",
            "ProviderURL": f"https://cognito-idp.{twin.region}.amazonaws.com/{pool['Id']}",
        }
        if not twin.user_pool_id:
            twin.user_pool_id, twin.user_pool_logical_id = pool["Id"], logical_id
            policy = (props.get("Policies") or {}).get("PasswordPolicy") or {}
            min_length = int(policy.get("MinimumLength", 12))
    for logical_id, res in _of_type(doc, "AWS::Cognito::UserPoolClient"):
        props = _props(twin.resolver, res)
        args = {k: props[k] for k in _CLIENT_PROPERTIES if k in props}
        flows = list(args.get("ExplicitAuthFlows") or [])
        args["ExplicitAuthFlows"] = flows + [f for f in SCRIPT_AUTH_FLOWS if f not in flows]
        args.setdefault("ClientName", _physical(logical_id))
        if "ReadAttributes" not in args:
            # Cognito: a client without ReadAttributes reads every attribute (its ID tokens
            # carry email_verified and name); moto reads none unless told.
            args["ReadAttributes"] = _readable_attributes(
                doc, twin.resolver, str(props["UserPoolId"])
            )
        created = idp.create_user_pool_client(UserPoolId=str(props["UserPoolId"]), **args)
        client_id = created["UserPoolClient"]["ClientId"]
        twin.resolver.refs[logical_id] = client_id
        twin.resolver.attrs[logical_id] = {"ClientId": client_id}
        if not twin.client_id and props["UserPoolId"] == twin.user_pool_id:
            twin.client_id = client_id
    for logical_id, res in _of_type(doc, "AWS::Cognito::UserPoolGroup"):
        props = _props(twin.resolver, res)
        name = str(props.get("GroupName") or logical_id)
        args = {k: props[k] for k in ("Description", "Precedence", "RoleArn") if k in props}
        idp.create_group(GroupName=name, UserPoolId=str(props["UserPoolId"]), **args)
        twin.resolver.refs[logical_id] = name
        if props["UserPoolId"] == twin.user_pool_id:
            twin.groups[logical_id] = name
    if twin.user_pool_id:
        _demo_users(idp, twin, min_length)


def _readable_attributes(doc: Mapping[str, Any], resolver: Resolver, pool_id: str) -> list[str]:
    names = ["email", "email_verified", "name"]
    for logical_id, res in _of_type(doc, "AWS::Cognito::UserPool"):
        if resolver.refs.get(logical_id) != pool_id:
            continue
        for attribute in (res.get("Properties") or {}).get("Schema") or []:
            name = str(attribute.get("Name", ""))
            if name and name not in names:
                names.append(name if name in _STANDARD_ATTRIBUTES else f"custom:{name}")
    return names


_STANDARD_ATTRIBUTES = {
    "address",
    "birthdate",
    "email",
    "email_verified",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "phone_number_verified",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
}


def _demo_users(idp: Any, twin: Provisioned, min_length: int) -> None:
    known_groups = set(twin.groups.values())
    for role, local, name, group in DEMO_USERS:
        email = f"{local}@{DEMO_DOMAIN}"
        password = random_password(max(min_length, 20))
        created = idp.admin_create_user(
            UserPoolId=twin.user_pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name},
            ],
            MessageAction="SUPPRESS",
        )["User"]
        username = created["Username"]
        idp.admin_set_user_password(
            UserPoolId=twin.user_pool_id, Username=email, Password=password, Permanent=True
        )
        groups = []
        if group in known_groups:
            idp.admin_add_user_to_group(
                UserPoolId=twin.user_pool_id, Username=email, GroupName=group
            )
            groups.append(group)
        else:
            twin.notes.append(f"demo user {role}: the template has no group {group!r}")
        twin.users.append(
            DemoUser(
                role=role,
                username=username,
                email=email,
                name=name,
                password=password,
                groups=groups,
            )
        )


def id_token(
    endpoint: str, client_id: str, username: str, password: str, region: str = REGION
) -> str:
    """An ID token for a user, as a browser would get it (USER_PASSWORD_AUTH)."""
    idp = client("cognito-idp", endpoint, region)
    result = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


# ---------------------------------------------------------------- what SES was asked to send


class _StampedList(list):  # type: ignore[type-arg]
    """moto's sent_messages, with the moment each message arrived."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.lock = threading.Lock()
        self.sent_at: dict[int, float] = {id(m): time.time() for m in self}

    def append(self, item: Any) -> None:
        with self.lock:
            self.sent_at[id(item)] = time.time()
            super().append(item)

    def clear(self) -> None:
        with self.lock:
            self.sent_at.clear()
            super().clear()


def _ses_backend(account_id: str = ACCOUNT_ID, region: str = REGION) -> Any:
    from moto.ses.models import ses_backends

    return ses_backends[account_id][region]


def stamp_sent_mail(account_id: str = ACCOUNT_ID, region: str = REGION) -> None:
    backend = _ses_backend(account_id, region)
    if not isinstance(backend.sent_messages, _StampedList):
        backend.sent_messages = _StampedList(backend.sent_messages)


def sent_mail(account_id: str = ACCOUNT_ID, region: str = REGION) -> list[tuple[Any, datetime]]:
    """[(moto message, when it was sent)], oldest first."""
    backend = _ses_backend(account_id, region)
    messages = backend.sent_messages
    stamps = getattr(messages, "sent_at", {})
    now = time.time()
    with getattr(messages, "lock", contextlib.nullcontext()):
        items = list(messages)
    return [(m, datetime.fromtimestamp(stamps.get(id(m), now), UTC)) for m in items]


def clear_mail(account_id: str = ACCOUNT_ID, region: str = REGION) -> int:
    backend = _ses_backend(account_id, region)
    count = len(backend.sent_messages)
    backend.sent_messages.clear()
    return count
