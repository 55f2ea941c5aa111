"""``POST /_sealbox/sign``: an application's user, holding the application's
own token (a JWT as ``Authorization: Bearer``), gets a managed link, as the
operator's rules (``sealbox.links.rules``) allow. A Lambda's job, done here.

Each account keeps its own rules, and its own URL: ``/_sealbox/sign/<id>``
(twelve digits) uses account ``<id>``'s rules, whose ``SignAs`` users are
that account's; ``/_sealbox/sign`` is the first account's (as it was
before accounts). The account is in the path rather than found from the
token's issuer, so one account's issuer never needs to differ from
another's, and a token is only ever checked against the rules of the
account whose URL the application chose. An account with no rules (or none
at that id) admits no token.

Per request: the rules (parsed once per access version), the token
(``signing.verify_token``: 401), the body (400), the first rule that admits
it (``signing.choose``: 403), the signer's first active access key (the
rule's ``SignAs`` user; its policies still judge every use of the link),
then ``links.create.create_link``. The answer is
``{"Url", "LinkId", "Method", "Expires", "Headers"}``; a refusal
``{"error": {"code", "message"}}``.

CORS: a preflight (``OPTIONS``) from an origin some rule's
``AllowedOrigins`` admits is answered with ``POST`` and the
``Authorization`` and ``Content-Type`` headers allowed; any other origin is
refused (403, no ``Access-Control-*``). Answers to an allowed origin carry
``Access-Control-Allow-Origin`` (errors too, so the page can read them).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from sealbox.api.common.access_gate import VersionedCache
from sealbox.api.common.context import Services
from sealbox.auth.principal import ACCOUNT_ID, AuthResult, Credential
from sealbox.errors import S3Error
from sealbox.links import model
from sealbox.links.create import create_link
from sealbox.links.model import LinkError, LinkSpec
from sealbox.links.rules import EMPTY, LinkRules, RulesError
from sealbox.links.rules_store import load_rules
from sealbox.links.signing import SignError, SignRequest, bearer_token, choose, verify_token
from sealbox.server.request import ClientDisconnected, Request
from sealbox.server.responses import Response

log = logging.getLogger("sealbox.sign")

PATH = "/_sealbox/sign"
PREFIX = PATH + "/"  # PREFIX + <account id>
MAX_BODY = 16 * 1024
_ALLOW_HEADERS = "authorization, content-type"
_ACTIONS = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject"}


def path_account(path: str) -> str | None:
    """The account whose rules ``path`` asks for: the first account's for
    ``PATH``, the one named after ``PREFIX`` (twelve digits); else None."""
    if path == PATH:
        return ACCOUNT_ID
    if path.startswith(PREFIX):
        account = path[len(PREFIX):]
        if len(account) == 12 and account.isascii() and account.isdigit():
            return account
    return None


def is_sign_path(path: str) -> bool:
    """Whether ``path`` is the signing endpoint's (any account's, or a
    malformed account the endpoint answers 404)."""
    return path == PATH or path.startswith(PREFIX)


class SignEndpoint:
    """The endpoint over one app's services; caches rules and signers by
    access version."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._cache = VersionedCache(max_entries=1000)

    def _version(self) -> int:
        return self.services.meta.access_version()

    def rules(self, version: int, account: str = ACCOUNT_ID) -> LinkRules:
        """``account``'s stored rules (none when never put or, which ``put``
        prevents, no longer readable)."""
        def load() -> LinkRules:
            try:
                return load_rules(self.services.meta, account)
            except RulesError:
                log.error("stored link rules of account %s no longer parse; its endpoint "
                          "refuses all", account)
                return EMPTY
        return self._cache.get(("rules", account), version, load)

    def signer(self, user: str, version: int, account: str = ACCOUNT_ID) -> Credential | None:
        """The credential of ``account``'s user's first active access key."""
        def load() -> Credential | None:
            meta: Any = self.services.meta.in_account(account)  # type: ignore[attr-defined]
            try:
                keys = meta.list_access_keys(user)
            except Exception:  # noqa: BLE001 - NoSuchEntity: the user is gone
                return None
            for key in keys:
                if key.status == "Active":
                    found = self.services.lookup_credential(key.access_key_id)
                    if found is not None and found.active:
                        return found
            return None
        return self._cache.get(("signer", account, user), version, load)

    async def __call__(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        cors: list[tuple[str, str]] = []
        try:
            account = path_account(request.raw_path.split("?", 1)[0])
            if account is None:
                raise SignError(404, "NotFound", f"{PREFIX} is followed by an account id "
                                "(twelve digits)")
            version = await self.services.read(self._version)
            rules = await self.services.read(self.rules, version, account)
            if origin is not None and rules.origin_allowed(origin):
                cors = [("access-control-allow-origin", origin), ("vary", "Origin")]
            if request.method == "OPTIONS":
                return _preflight(request, cors)
            if request.method != "POST":
                return _error(SignError(405, "MethodNotAllowed", f"{PATH} answers POST"),
                              [("allow", "POST, OPTIONS"), *cors])
            if origin is not None and not cors:
                raise SignError(403, "AccessDenied", "No rule allows pages on this origin")
            return _json(200, await self._sign(request, rules, version, origin, account), cors)
        except SignError as error:
            return _error(error, cors)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception("signing request failed")
            return _error(SignError(500, "InternalError", "We encountered an internal error."),
                          cors)

    async def _sign(self, request: Request, rules: LinkRules, version: int,
                    origin: str | None, account: str) -> dict[str, Any]:
        services = self.services
        token = bearer_token(request.headers.get("authorization"))
        now = services.clock.now()
        issuer, claims = verify_token(token, rules, now)
        try:
            declared = request.content_length()
            if declared is not None and declared > MAX_BODY:
                raise SignError(413, "RequestEntityTooLarge",
                                f"The body must be at most {MAX_BODY} bytes")
            body = await request.read(MAX_BODY)
        except S3Error:
            raise SignError(413, "RequestEntityTooLarge",
                            f"The body must be at most {MAX_BODY} bytes") from None
        asked = SignRequest.parse(body)
        chosen = choose(rules, issuer, claims, asked, origin)
        rule = chosen.rule
        signer = await services.read(self.signer, rule.sign_as, version, account)
        if signer is None:
            raise SignError(403, "AccessDenied", f"The rule's signer {rule.sign_as!r} has no "
                            "active access key")
        await self._signer_may(request, signer, asked, version)
        spec_body: dict[str, Any] = {
            "Bucket": asked.bucket, "Key": asked.key, "Method": asked.method,
            "Expires": chosen.expires, "MaxUses": chosen.max_uses,
            "Note": f"signed for {issuer.name}: {str(claims.get('sub', ''))[:200]}"}
        if asked.content_type is not None:
            spec_body["ContentType"] = asked.content_type
        if chosen.max_size is not None:
            spec_body["MaxSize"] = chosen.max_size
        if rule.bind_client_ip:
            spec_body["BindIp"] = [_host_network(request.client_ip)]
        try:
            spec = LinkSpec.parse(spec_body)
        except LinkError as error:
            raise SignError(400, error.code, error.message) from None
        endpoint = f"{request.scheme}://{request.headers.get('host', 'localhost')}"
        created = await services.run(lambda: create_link(
            services.meta, signer, spec, now, endpoint=endpoint,
            region=services.settings.region))
        return {"Url": created.url, "LinkId": created.record.link_id, "Method": asked.method,
                "Expires": model.iso(created.record.expires), "Headers": created.headers}


    async def _signer_may(self, request: Request, signer: Credential, asked: SignRequest,
                          version: int) -> None:
        """Refuse now a link its signer's policies would refuse on every use
        (they still judge each use: a later change stops the link)."""
        gate = self.services.gate
        if gate is None:
            return
        action = _ACTIONS[asked.method]
        resource = f"arn:aws:s3:::{asked.bucket}/{asked.key}"
        auth = AuthResult(signer.principal, "REST-QUERY-STRING", "AWS4-HMAC-SHA256",
                          signed_at=self.services.clock.now())
        decision = await self.services.read(lambda: gate.decide(
            request, auth, model.OPERATIONS[asked.method], action, resource,
            bucket=asked.bucket, key=asked.key, version=version))
        if not decision.allowed:
            raise SignError(403, "AccessDenied", f"The rule's signer may not {action} on "
                            f"{asked.bucket}/{asked.key}")


def _host_network(address: str) -> str:
    """The client's address as a one-address network, for ``BindIp``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # no IP peer (a Unix socket): nothing to bind to
        raise SignError(403, "AccessDenied", "The rule binds the link to the client's "
                        "address, and this request's is not known") from None
    return f"{ip}/{ip.max_prefixlen}"


def _preflight(request: Request, cors: list[tuple[str, str]]) -> Response:
    asked = request.headers.get("access-control-request-method")
    if not cors or asked not in ("POST", None):
        return _error(SignError(403, "AccessDenied", "CORS: this origin may not call "
                                f"{PATH}"), [])
    return Response(204, [*cors, ("access-control-allow-methods", "POST"),
                          ("access-control-allow-headers", _ALLOW_HEADERS),
                          ("access-control-max-age", "600")], b"")


def _json(status: int, value: dict[str, Any], extra: list[tuple[str, str]]) -> Response:
    body = json.dumps(value).encode()
    return Response(status, [("content-type", "application/json"),
                             ("cache-control", "no-store"), *extra], body)


def _error(error: SignError, extra: list[tuple[str, str]]) -> Response:
    headers = list(extra)
    if error.status == 401:
        headers.append(("www-authenticate", 'Bearer error="invalid_token"'))
    return _json(error.status, {"error": {"code": error.code, "message": error.message}},
                 headers)
