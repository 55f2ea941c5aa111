"""ACLs as requests carry them, and as GetBucketAcl/GetObjectAcl answer them.

A request names an ACL one of three ways (PutObjectAcl API reference): a
canned ACL in ``x-amz-acl``; explicit grants in ``x-amz-grant-read``,
``-write``, ``-read-acp``, ``-write-acp`` and ``-full-control``, each a
comma-separated list of ``id="…"``, ``emailAddress="…"`` or ``uri="…"``;
or (PutBucketAcl, PutObjectAcl) an ``AccessControlPolicy`` XML body. A
canned ACL with grant headers is refused (``InvalidRequest``), as is a
body beside either (``UnexpectedContent``).

Errors as S3 gives them: a structure the schema does not allow is
``MalformedACLError``; a grantee that is no canonical id or known group is
``InvalidArgument``; an e-mail address no account has is
``UnresolvableGrantByEmailAddress`` (an address is resolved to its
account's canonical id before the grant is kept, as S3 does: GetObjectAcl
answers ``CanonicalUser``). sealbox's accounts have no e-mail addresses
yet, so every address is unresolvable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sealbox.access.acls import (
    CANNED_ACLS,
    GROUPS,
    MAX_GRANTS,
    PERMISSIONS,
    Acl,
    Grant,
    Permission,
)
from sealbox.api.s3.xml import DECLARATION, S3_NAMESPACE, escape, find_all, find_text, parse_xml
from sealbox.errors import S3Error

ACL_HEADER = "x-amz-acl"
GRANT_HEADERS: dict[str, Permission] = {
    "x-amz-grant-read": "READ",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write-acp": "WRITE_ACP",
    "x-amz-grant-full-control": "FULL_CONTROL",
}
MAX_ACL_BODY = 64 * 1024
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_CANONICAL_ID = re.compile(r"[0-9a-fA-F]{64}")
# One ``type="value"`` (or unquoted value) of a grant header, then a comma or the end.
_GRANTEE = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]*))\s*(?:,|$)')

ResolveEmail = Callable[[str], "str | None"]


@dataclass(frozen=True)
class RequestedAcl:
    """What a request asks for: a canned ACL's name, or explicit grants
    (and, from a body, the owner it names)."""

    canned: str | None = None
    grants: tuple[Grant, ...] | None = None
    owner: str | None = None


def no_email(_address: str) -> str | None:
    """The e-mail resolver while no account has an address."""
    return None


def _grantee(kind: str, value: str, permission: Permission,
             resolve_email: ResolveEmail) -> Grant:
    """One grantee as a kept grant; S3's error for one that names nobody."""
    lowered = kind.lower()
    if lowered == "id":
        if not _CANONICAL_ID.fullmatch(value):
            raise S3Error("InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID",
                          ArgumentValue=value[:128])
        return Grant("CanonicalUser", value.lower(), permission)
    if lowered in ("emailaddress", "email"):
        canonical = resolve_email(value)
        if canonical is None:
            raise S3Error("UnresolvableGrantByEmailAddress", EmailAddress=value[:256])
        return Grant("CanonicalUser", canonical, permission)
    if lowered == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="uri",
                          ArgumentValue=value[:256])
        return Grant("Group", value, permission)
    raise S3Error("InvalidArgument", f"Invalid grantee type {kind[:32]!r}",
                  ArgumentName="grantee", ArgumentValue=kind[:64])


def _header_grants(name: str, value: str, resolve_email: ResolveEmail) -> list[Grant]:
    permission = GRANT_HEADERS[name]
    grants = []
    position = 0
    text = value.strip()
    while position < len(text):
        found = _GRANTEE.match(text, position)
        if found is None or found.end() == position:
            raise S3Error("InvalidArgument", f"Malformed {name} header", ArgumentName=name,
                          ArgumentValue=value[:256])
        kind, quoted, bare = found.groups()
        grants.append(_grantee(kind, quoted if quoted is not None else bare, permission,
                               resolve_email))
        position = found.end()
    if not grants:
        raise S3Error("InvalidArgument", f"Empty {name} header", ArgumentName=name)
    return grants


def requested_acl(headers: Mapping[str, str], resolve_email: ResolveEmail = no_email,
                  ) -> RequestedAcl | None:
    """The ACL a request's headers ask for, checked; None when they name none."""
    canned = headers.get(ACL_HEADER)
    if canned is not None and canned not in CANNED_ACLS:
        raise S3Error("InvalidArgument", ArgumentName=ACL_HEADER, ArgumentValue=canned[:256])
    grants: list[Grant] = []
    for name in GRANT_HEADERS:
        value = headers.get(name)
        if value is not None:
            grants += _header_grants(name, value, resolve_email)
    if grants and canned is not None:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not "
                      "allowed")
    if len(grants) > MAX_GRANTS:
        raise S3Error("MalformedACLError", f"An ACL may have at most {MAX_GRANTS} grants")
    if grants:
        return RequestedAcl(grants=tuple(grants))
    return None if canned is None else RequestedAcl(canned=canned)


def parse_acl_body(body: bytes, resolve_email: ResolveEmail = no_email) -> RequestedAcl:
    """An ``AccessControlPolicy`` document as the grants it asks for."""
    root = parse_xml(body, "AccessControlPolicy", max_length=MAX_ACL_BODY)
    lists = find_all(root, "AccessControlList")
    owners = find_all(root, "Owner")
    if len(lists) != 1 or len(owners) > 1:
        raise S3Error("MalformedACLError")
    owner = find_text(owners[0], "ID") if owners else None
    grants = []
    for element in find_all(lists[0], "Grant"):
        permission = find_text(element, "Permission")
        grantees = find_all(element, "Grantee")
        if len(grantees) != 1 or permission not in PERMISSIONS:
            raise S3Error("MalformedACLError")
        grantee = grantees[0]
        kind = grantee.get("type")
        field = {"CanonicalUser": "ID", "AmazonCustomerByEmail": "EmailAddress",
                 "Group": "URI"}.get(kind or "")
        value = find_text(grantee, field) if field else None
        if value is None:
            raise S3Error("MalformedACLError")
        name = {"ID": "id", "EmailAddress": "emailAddress", "URI": "uri"}[field or ""]
        grants.append(_grantee(name, value.strip(), permission, resolve_email))  # type: ignore[arg-type]
        if len(grants) > MAX_GRANTS:
            raise S3Error("MalformedACLError", f"An ACL may have at most {MAX_GRANTS} grants")
    return RequestedAcl(grants=tuple(grants), owner=owner)


def render_acl(acl: Acl, display_names: Mapping[str, str]) -> bytes:
    """``AccessControlPolicy``: the owner and every grant, groups' first and
    otherwise in the order kept (RGW's order, which the s3-tests expect; S3
    promises none); a canonical user's DisplayName where it is known."""
    def user(canonical: str) -> str:
        name = display_names.get(canonical)
        shown = f"<DisplayName>{escape(name)}</DisplayName>" if name is not None else ""
        return f"<ID>{escape(canonical)}</ID>{shown}"

    grants = []
    ordered = sorted(acl.grants, key=lambda g: g.grantee_type != "Group")  # stable
    for g in ordered:
        if g.grantee_type == "Group":
            grantee = (f'<Grantee xmlns:xsi="{XSI}" xsi:type="Group">'
                       f"<URI>{escape(g.grantee)}</URI></Grantee>")
        else:
            grantee = (f'<Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser">'
                       f"{user(g.grantee)}</Grantee>")
        grants.append(f"<Grant>{grantee}<Permission>{g.permission}</Permission></Grant>")
    return (f'{DECLARATION}<AccessControlPolicy xmlns="{S3_NAMESPACE}">'
            f"<Owner>{user(acl.owner)}</Owner>"
            f'<AccessControlList>{"".join(grants)}</AccessControlList></AccessControlPolicy>'
            ).encode()
