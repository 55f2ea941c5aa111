"""The admin API's links routes (``routes.LINK_ROUTES``): a thin adapter over
``sealbox.links``. Each is judged as its ``sealbox:*`` action
(``sealbox:CreateLink`` on the object's ARN, the others on the link's
``arn:sealbox:::link/ID`` or ``*``) before anything is read or written; a
refusal of the input is 400 and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from sealbox.api.admin import link_rules
from sealbox.api.admin.auth import authorize
from sealbox.api.admin.request import AdminError, invalid, shown
from sealbox.api.admin.routes import Route
from sealbox.api.common.context import Services
from sealbox.api.router import virtual_host_bucket
from sealbox.auth.authenticate import authenticate
from sealbox.auth.cloudfront import PublicKey, load_public_key
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import ACCOUNT_ID, AuthResult, account_of_arn
from sealbox.links import model, revoke
from sealbox.links.create import create_link
from sealbox.links.model import LinkError, LinkRecord, LinkSpec, Revocation
from sealbox.server.request import Request


def link_arn(link_id: str) -> str:
    return f"arn:sealbox:::link/{link_id}"


def _refused(error: LinkError) -> AdminError:
    return AdminError(error.code, error.message, error.status)


def _no_link(link_id: str) -> AdminError:
    return AdminError("NoSuchLink", f"No link has the id {shown(link_id)}.", 404)


def _members(route: Route, payload: dict[str, Any]) -> None:
    for name in payload:
        if name not in route.body:
            raise invalid(f"Unknown member {shown(name)} (this route takes: "
                          f"{', '.join(route.body) or 'none'}).")
    for name in route.required:
        if name not in payload:
            raise invalid(f"The member {name!r} is required.")


async def answer(request: Request, services: Services, auth: AuthResult, route: Route,
                 params: dict[str, str], query: dict[str, str],
                 payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run one links route; its status and JSON answer."""
    _members(route, payload)
    if route.operation == "CreateLink":
        return 201, await _create(request, services, auth, payload)
    account = auth.principal.account or ACCOUNT_ID
    if route.operation == "ListLinks":
        await authorize(request, services, auth, route.action, "*")
        bucket = query.get("Bucket")
        found = await services.run(services.meta.list_links, bucket)  # type: ignore[attr-defined]
        return 200, {"Links": [r.as_json() for r in found if _ours(services, r, account)]}
    if route.operation in ("GetLinkRules", "PutLinkRules"):
        await authorize(request, services, auth, route.action, "*")
        return 200, await link_rules.answer(services, route.operation, payload, account)
    if route.operation == "RevokeUrl":
        return 200, await _revoke_url(request, services, auth, route, payload)
    link_id = params["LinkId"]
    await authorize(request, services, auth, route.action, link_arn(link_id))
    record = await _link(services, link_id)
    if not _ours(services, record, account):
        raise _no_link(link_id)  # another account's: as if there were none
    if route.operation == "GetLink":
        return 200, record.as_json()
    done = await services.run(services.meta.revoke,  # type: ignore[attr-defined]
                              Revocation(record.fingerprint, record.expires, "link", link_id))
    return 200, {"Revoked": link_id, "Until": model.iso(done.until)}


def _ours(services: Services, record: LinkRecord, account: str) -> bool:
    """Whether an account may see and revoke a link: one its principals
    signed, or one to its bucket."""
    if account_of_arn(record.signer) == account:
        return True
    gate = services.gate
    owner = gate.bucket_account(record.bucket) if gate is not None else ACCOUNT_ID
    return owner == account


async def _link(services: Services, link_id: str) -> LinkRecord:
    if not model.is_link_id(link_id):
        raise _no_link(link_id)
    record = await services.run(services.meta.get_link, link_id)  # type: ignore[attr-defined]
    if record is None:
        raise _no_link(link_id)
    return record  # type: ignore[no-any-return]


async def _create(request: Request, services: Services, auth: AuthResult,
                  payload: dict[str, Any]) -> dict[str, Any]:
    try:
        spec = LinkSpec.parse(payload)
    except LinkError as error:
        raise _refused(error) from None
    await authorize(request, services, auth, "sealbox:CreateLink",
                    f"arn:aws:s3:::{spec.bucket}/{spec.key}")
    access_key = auth.principal.access_key or ""
    credential = await services.run(services.lookup_credential, access_key)
    if credential is None or not credential.active:
        raise AdminError("InvalidClientTokenId", "The caller's access key cannot sign links.",
                         403)
    endpoint = f"{request.scheme}://{request.headers.get('host', 'localhost')}"
    created = await services.run(lambda: create_link(
        services.meta, credential, spec, services.clock.now(), endpoint=endpoint,
        region=services.settings.region))
    return created.as_json()


async def _revoke_url(request: Request, services: Services, auth: AuthResult, route: Route,
                      payload: dict[str, Any]) -> dict[str, Any]:
    await authorize(request, services, auth, route.action, "*")
    url = payload["Url"]
    account = auth.principal.account or ACCOUNT_ID
    try:
        cookies = revoke.parse_cookie_text(payload.get("Cookies"))
        signed = revoke.identify(url, cookies)
        now = services.clock.now()
        signer_account = await services.run(_verify, services, url, signed, now, cookies)
    except LinkError as error:
        raise _refused(error) from None
    # An account revokes its own principals' URLs, and CloudFront's of its
    # own distributions (signed by its own key groups' keys).
    if signer_account != account:
        raise AdminError("AccessDenied", f"User: {auth.principal.arn} may revoke only URLs "
                         "signed by its own account", 403)
    link_id = None
    until = signed.expires
    if signed.link_id is not None and model.is_link_id(signed.link_id):
        record = await services.run(services.meta.get_link,  # type: ignore[attr-defined]
                                    signed.link_id)
        if record is not None and record.fingerprint == signed.fingerprint:
            link_id, until = record.link_id, record.expires
    done = await services.run(services.meta.revoke,  # type: ignore[attr-defined]
                              Revocation(signed.fingerprint, until, signed.kind, link_id))
    return {"Revoked": link_id or signed.fingerprint, "Until": model.iso(done.until)}


def _verify(services: Services, url: str, signed: revoke.SignedUrl, now: datetime,
            cookies: dict[str, str]) -> str:
    """Synchronous (key and distribution lookups read the store). The
    account that signed the URL: its key's principal's for an S3 URL, its
    distribution's for CloudFront's."""
    host = urlsplit(url).netloc
    virtual_bucket = virtual_host_bucket(host, services.settings.domains)
    signers: list[str] = []

    def check(facts: RequestFacts) -> AuthResult:
        auth = authenticate(facts, services.lookup_credential, now, services.settings.region,
                            virtual_bucket=virtual_bucket)
        signers.append(auth.principal.account or ACCOUNT_ID)
        return auth

    revoke.verify_url(url, signed, int(now.timestamp()), authenticate=check,
                      cloudfront_keys=lambda h, p: _cloudfront_keys(services, h, p, signers),
                      cookies=cookies)
    return signers[-1] if signers else ACCOUNT_ID


def _cloudfront_keys(services: Services, host: str, path: str,
                     owners: list[str]) -> dict[str, PublicKey] | None:
    meta: Any = services.meta
    distribution = meta.distribution_for_host(host)
    if distribution is None and services.settings.edge_port is not None:
        # The edge port serves its only distribution whatever the Host (an
        # address, say): a URL made for it names that one. Its signature
        # is still verified against that distribution's keys.
        enabled = [d for d in meta.list_distributions() if d.config.enabled]
        distribution = enabled[0] if len(enabled) == 1 else None
    if distribution is None:
        return None
    owners.append(distribution.account)
    behavior = distribution.config.behavior_for(unquote(path))
    if not behavior.restricted:
        return None
    keys: dict[str, PublicKey] = {}
    for key_id, record in meta.public_keys_for_groups(list(behavior.trusted_key_groups)).items():
        try:
            keys[key_id] = load_public_key(record.encoded_key)
        except ValueError:
            continue
    return keys
