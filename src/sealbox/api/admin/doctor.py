"""``POST /_sealbox/api/v1/doctor``: why a signed request fails.

The body names one of ``Url`` (a presigned SigV4 or SigV2 URL, or a
CloudFront signed URL of one of this server's distributions, with
``Method``, ``Headers`` and ``SourceIp`` as the failing client sends them)
or ``RequestId`` (the ``x-amz-request-id`` of a refused request, recorded by
``server/auth_failures.py``). The answer is ``{"Verdict": "valid" |
"invalid", "Causes": [{"Code", "Message", "Expected", "Got"}], "Kind"}``.

The diagnosis is ``sealbox.doctor``'s (pure); this module finds what it
needs — the key table, the clock, this server's names, the distribution's
trusted keys — and, once a signature is right, asks the access gate and
the links gate whether they admit the request, naming the statement that
refused it. The caller must be allowed ``sealbox:Doctor`` (root always is).

Accounts: the access key is found in whichever account owns it. The first
account (the administrator's) diagnoses every account's keys, links and
distributions; any other only its own: a URL signed with another account's
key is refused (403, the key's owner is no secret: AWS's
``GetAccessKeyInfo`` tells it), a CloudFront URL of another account's
distribution is as one of no distribution, and another account's recorded
request is as one never recorded (404).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sealbox.access.actions import ACTIONS, resource_arn
from sealbox.api.admin.request import AdminError, invalid
from sealbox.api.admin.routes import DOCTOR_BODY
from sealbox.api.common.context import Services
from sealbox.api.router import route, split_target, virtual_host_bucket
from sealbox.auth.cloudfront import signing_inputs
from sealbox.auth.principal import ACCOUNT_ID, AuthResult, Credential
from sealbox.auth.sigv4.canonical import ALGORITHM, parse_query
from sealbox.auth.sigv4.parse import parse_amz_date
from sealbox.doctor import cloudfront, links, sigv2, sigv4
from sealbox.doctor.model import Cause, Diagnosis, NotAUrl, Seen, Server, from_url
from sealbox.doctor.model import invalid as bad
from sealbox.errors import S3Error
from sealbox.links.model import LINK_PARAMETER, is_link_id
from sealbox.server.request import Request

MEMBERS = DOCTOR_BODY
MAX_HEADERS = 64
MAX_HEADER_CHARS = 8 * 1024
_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class Scope:
    """Whose keys and distributions a caller may diagnose: every account's
    for the first account, else its own account's."""

    def __init__(self, services: Services, account: str) -> None:
        self.services = services
        self.account = account

    @property
    def everything(self) -> bool:
        return self.account == ACCOUNT_ID

    def owns(self, account: str | None) -> bool:
        return self.everything or (account or ACCOUNT_ID) == self.account

    def lookup(self, access_key: str) -> Credential | None:
        """The credential of ``access_key`` if the caller may diagnose it."""
        found = self.services.lookup_credential(access_key)
        if found is None or self.owns(found.principal.account):
            return found
        return None

    def foreign(self, access_key: str | None) -> bool:
        """Whether ``access_key`` is another account's, out of the caller's reach."""
        if access_key is None or self.everything:
            return False
        found = self.services.lookup_credential(access_key)
        return found is not None and not self.owns(found.principal.account)


async def answer(request: Request, services: Services, payload: Mapping[str, Any],
                 account: str = ACCOUNT_ID) -> dict[str, Any]:
    """The diagnosis of the body's ``Url`` or ``RequestId``, as ``account`` may see it."""
    scope = Scope(services, account)
    for name in payload:
        if name not in MEMBERS:
            raise invalid(f"Unknown member {name[:64]!r} (this route takes: "
                          f"{', '.join(MEMBERS)}).")
    if ("Url" in payload) == ("RequestId" in payload):
        raise invalid("Give one of Url (a signed URL) or RequestId (the x-amz-request-id of a "
                      "refused request).")
    if "RequestId" in payload:
        return (await _recorded(services, scope, _text(payload, "RequestId", 64))).as_json()
    method = _text(payload, "Method", 16, "GET").upper()
    if method not in _METHODS:
        raise invalid(f"Method must be one of {', '.join(_METHODS)}.")
    source_ip = _text(payload, "SourceIp", 64, request.client_ip or request.client)
    try:
        seen = from_url(_text(payload, "Url", 10**7), method, _headers(payload.get("Headers")),
                        services.clock.now(), source_ip)
    except NotAUrl as error:
        raise invalid(f"Url: {error}.") from None
    if await services.run(scope.foreign, _access_key(seen) or _header_key(seen)):
        raise AdminError("AccessDenied", "The URL is signed with an access key of another "
                         "account: an account diagnoses only its own keys and links.", 403)
    return (await _diagnose(request, services, scope, seen, from_record=False)).as_json()


def _text(payload: Mapping[str, Any], name: str, limit: int, default: str | None = None) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or not value:
        raise invalid(f"{name} must be a non-empty string.")
    if len(value) > limit:
        raise invalid(f"{name} is {len(value)} characters; at most {limit} are read.")
    return value


def _headers(value: Any) -> dict[str, str]:
    """``Headers``: an object of names to values, or a list of ``Name: value``."""
    if value is None:
        return {}
    pairs: list[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [(str(item).partition(":")[0], str(item).partition(":")[2])
                 if isinstance(item, str) and ":" in item else (item, None) for item in value]
    else:
        raise invalid("Headers must be an object or a list of 'Name: value' strings.")
    if len(pairs) > MAX_HEADERS:
        raise invalid(f"Headers: at most {MAX_HEADERS}.")
    out: dict[str, str] = {}
    for name, text in pairs:
        if (not isinstance(name, str) or not isinstance(text, str) or not name.strip()
                or len(name) + len(text) > MAX_HEADER_CHARS):
            raise invalid("Each header needs a name and a value ('Name: value').")
        out[name.strip().lower()] = text.strip()
    return out


async def _recorded(services: Services, scope: Scope, request_id: str) -> Diagnosis:
    now_ms = int(services.clock.now().timestamp() * 1000)
    meta: Any = services.meta  # with store.sql.auth_failures' methods
    record = await services.run(meta.get_auth_failure, request_id, now_ms)
    if record is not None and not await services.run(_may_see, services, scope, record):
        record = None  # another account's: as if never recorded
    if record is None:
        raise AdminError("NoSuchRequest", f"No refused signed request {request_id!r} is "
                         "recorded: it was not refused for its signature or access, it was "
                         "not signed, or it is older than the last 20 failures of its key or "
                         "a day.", 404)
    at = datetime.fromtimestamp(record["time_ms"] / 1000, UTC)
    seen = Seen(record["method"], record["scheme"], record["host"], record["raw_path"],
                record["raw_query"], json.loads(record["headers"]), at, record["client_ip"])
    code = record["error_code"]
    if cloudfront.is_cloudfront(seen):
        return cloudfront.diagnose_recorded(seen, code, record["reason"] or "")
    kind = sigv2.KIND
    if sigv4.is_sigv4(seen):
        kind = sigv4.HEADER if "authorization" in seen.headers else sigv4.PRESIGNED
    if code == "XAmzContentSHA256Mismatch":
        return bad(kind, Cause("PayloadHashMismatch", "The body's SHA-256 is not the one the "
                               "request signed (x-amz-content-sha256): the body changed after "
                               "signing, or the signer hashed another body."))
    if code == "BadDigest":
        return bad(kind, Cause("PayloadHashMismatch", "The body's MD5 is not the Content-MD5 "
                               "the request sent: the body changed on the way."))
    if code == "AccessDenied" and links.is_link_refusal(record["reason"] or ""):
        # The links gate said why; its revocation check needs the whole signature.
        return bad(kind, links.refusal_cause(record["reason"], seen.client_ip))
    return await _diagnose(None, services, scope, seen, from_record=True)


def _may_see(services: Services, scope: Scope, record: Mapping[str, Any]) -> bool:
    """Whether a recorded refusal is the caller's to diagnose: its access
    key's account, or for a CloudFront signed URL the account of the
    distribution its Host names. Synchronous (store reads)."""
    if scope.everything:
        return True
    access_key = str(record.get("access_key") or "")
    found = services.lookup_credential(access_key) if access_key else None
    if found is not None:
        return scope.owns(found.principal.account)
    # Not an access key: a CloudFront signed URL's key-pair id.
    directory = services.edge_directory
    if directory is None:
        return False
    gate = services.gate
    version = gate.version() if gate is not None else 0
    distribution = directory.for_host(str(record.get("host") or ""), version)
    return distribution is not None and scope.owns(distribution.account)


async def _diagnose(request: Request | None, services: Services, scope: Scope, seen: Seen, *,
                    from_record: bool) -> Diagnosis:
    settings = services.settings
    directory = services.edge_directory
    gate = services.gate
    version = await services.run(gate.version) if gate is not None else 0
    if directory is not None and cloudfront.is_cloudfront(seen):
        distribution = await services.run(directory.for_host, seen.host, version)
        if distribution is None and settings.edge_port is not None and seen.host.endswith(
                f":{settings.edge_port}"):
            # On --edge-port the only distribution answers any Host.
            distribution = await services.run(directory.sole_distribution, version)
        if distribution is not None and scope.owns(distribution.account):
            return await _edge(services, directory, distribution, seen, version)
    hosts = _hosts(request, services)
    server = Server(scope.lookup, services.clock.now(), settings.region, hosts,
                    lambda host: virtual_host_bucket(host, settings.domains))
    if not from_record and not _ours(seen.host, server):
        access_key = _access_key(seen)
        if access_key is None or await services.run(server.lookup, access_key) is None:
            raise AdminError("NotThisServer", f"The URL is for {seen.host[:64]}, which is not "
                             "one of this server's names, and it is not signed with one of "
                             "this server's access keys.", 400)
    if sigv4.is_sigv4(seen):
        diagnosis = await services.run(sigv4.diagnose, seen, server)
    elif sigv2.is_sigv2(seen):
        diagnosis = await services.run(sigv2.diagnose, seen, server)
    else:
        raise invalid("The URL carries no signature this server reads (SigV4, SigV2 or a "
                      "CloudFront signed URL of one of its distributions).")
    if diagnosis.causes:
        return diagnosis
    return await _admitted(services, seen, server, version, diagnosis.kind)


def _hosts(request: Request | None, services: Services) -> tuple[str, ...]:
    settings = services.settings
    found = [f"{settings.host}:{settings.port}"]
    if request is not None and request.headers.get("host"):
        found.append(request.headers["host"])
    return tuple(found)


def _access_key(seen: Seen) -> str | None:
    """The access key a URL names (SigV4's credential, SigV2's AWSAccessKeyId)."""
    for name, value in parse_query(seen.raw_query):
        if name == "X-Amz-Credential":
            return value.split("/", 1)[0]
        if name == "AWSAccessKeyId":
            return value
    return None


def _header_key(seen: Seen) -> str | None:
    """The access key an Authorization header names (SigV4's credential, SigV2's)."""
    header = seen.headers.get("authorization", "")
    if "Credential=" in header:
        return header.split("Credential=", 1)[1].split("/", 1)[0]
    if header.startswith("AWS "):
        return header[4:].partition(":")[0].strip() or None
    return None


def _ours(host: str, server: Server) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    known = {h.rsplit(":", 1)[0] for h in server.hosts}
    return name in known or name in _LOOPBACK or server.virtual_bucket(host) is not None


async def _admitted(services: Services, seen: Seen, server: Server, version: int,
                    kind: str) -> Diagnosis:
    """The signature is right: do access and the links' terms admit it?"""
    gate = services.gate
    if gate is None:
        return Diagnosis((), kind)
    virtual_bucket = server.virtual_bucket(seen.host)
    query = {name: value for name, value in reversed(parse_query(seen.raw_query))}
    request = Request(method=seen.method, raw_path=seen.raw_path, raw_query=seen.raw_query,
                      headers=dict(seen.headers), client=seen.client_ip or "",
                      scheme=seen.scheme, receive=None, query=query,
                      client_ip=seen.client_ip or "", secure=seen.scheme == "https")
    try:
        bucket, key = split_target(seen.raw_path, virtual_bucket)
        endpoint = route(seen.method, bucket, key, query, request.headers)
    except S3Error as error:
        return bad(kind, Cause("AccessDenied", f"The signature is right, but S3 refuses the "
                               f"request: {error.code}: {error.message}"))
    auth = _auth(seen, server, kind)
    found = ACTIONS.get(endpoint.operation)
    if found is not None:
        action, resource_kind = found
        decision = await services.run(lambda: gate.decide(
            request, auth, endpoint.operation, action,
            resource_arn(resource_kind, endpoint.bucket, endpoint.key),
            bucket=endpoint.bucket, key=endpoint.key if resource_kind == "object" else None,
            version=version))
        if not decision.allowed:
            return bad(kind, _denied(auth, action, endpoint.bucket, endpoint.key, decision))
    link_gate = services.links
    if link_gate is None:
        return Diagnosis((), kind)
    record = None
    link_id = query.get(LINK_PARAMETER)
    if link_id is not None and is_link_id(link_id):
        # From the store, with its use count now (the gate holds only terms).
        record = await services.run(services.meta.get_link, link_id)  # type: ignore[attr-defined]
    try:
        await services.run(link_gate.judge, auth, query, request.headers,
                           seen.client_ip or "", endpoint.operation, endpoint.bucket,
                           endpoint.key, version, record)
    except S3Error as error:
        return bad(kind, links.refusal_cause(error.message, seen.client_ip, record))
    used = links.used_up(record) if record is not None else None
    return bad(kind, used) if used is not None else Diagnosis((), kind)


def _auth(seen: Seen, server: Server, kind: str) -> AuthResult:
    """Who signed (the signature is already known right): not checked again,
    since a recorded request holds only its signature's fingerprint."""
    header = seen.headers.get("authorization", "")
    access_key = _access_key(seen) or ""
    if not access_key and header:
        access_key = (header.split("Credential=", 1)[1].split("/", 1)[0]
                      if "Credential=" in header else header[4:].partition(":")[0].strip())
    credential = server.lookup(access_key)
    assert credential is not None  # the diagnosis found it
    query = dict(reversed(parse_query(seen.raw_query)))
    signed_at = parse_amz_date(query.get("X-Amz-Date", seen.headers.get("x-amz-date", "")))
    signature = query.get("X-Amz-Signature") or query.get("Signature") or (
        header.rsplit("Signature=", 1)[-1] if "Signature=" in header else None)
    return AuthResult(
        principal=credential.principal,
        auth_type="REST-HEADER" if header else "REST-QUERY-STRING",
        signature_version="AWS" if kind == "SigV2" else ALGORITHM,
        signed_at=signed_at, signature=signature)


def _denied(auth: AuthResult, action: str, bucket: str | None, key: str | None,
            decision: Any) -> Cause:
    statement = decision.statement
    where = f" in the {decision.policy}" if decision.policy else ""
    if statement is not None:
        name = f"statement {statement.sid!r}" if statement.sid else \
            f"statement #{statement.index + 1}"
        message = (f"The signature is right, but {name}{where} denies {action} to "
                   f"{auth.principal.arn}.")
        got = statement.sid or f"#{statement.index + 1}"
    else:
        message = (f"The signature is right, but no policy allows {action} on "
                   f"{bucket}/{key or ''} to {auth.principal.arn}.")
        got = None
    return Cause("AccessDenied", message, expected=action, got=got)


async def _edge(services: Services, directory: Any, distribution: Any, seen: Seen,
                version: int) -> Diagnosis:
    config = distribution.config
    behavior = config.behavior_for(unquote(seen.raw_path) or "/")
    keys = await services.run(directory.trusted_keys, behavior.trusted_key_groups, version)
    hosts = (distribution.domain_name, *config.aliases)
    diagnosis = cloudfront.diagnose(seen, keys, services.clock.now(), tuple(hosts))
    if diagnosis.causes or services.links is None:
        return diagnosis
    _, inputs = signing_inputs(seen.url, {})
    try:
        await services.run(services.links.check_revoked, inputs.get("Signature"), version)
    except S3Error as error:
        return bad(diagnosis.kind, links.refusal_cause(error.message))
    return diagnosis
