"""Making a managed link: the one entry point for the admin API, the CLI
(through it) and the signing endpoint.

The signing endpoint (issue 13, another part) calls ``create_link`` with
the credential of the IAM user a rule names (``SignAs``), after its own
checks, and answers the ``CreatedLink``::

    created = create_link(meta, credential, LinkSpec(bucket, key, "PUT",
                          expires=900, max_uses=1, bind=(client_ip + "/32",),
                          content_type="image/png", max_size=10 << 20),
                          now, endpoint="https://files.example", region="us-east-1")

``meta`` is the MetaStore (it has ``links.store.LinkSqlMethods``); it writes
the record, so call it off the event loop (``Services.run``). Whether the
signer may make links (``sealbox:CreateLink``) and may do what the link
does is the caller's to judge first; the link is then judged again on
every request, so it stops when its signer loses the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from sealbox.auth.principal import Credential
from sealbox.auth.sigv4.presign import presign_url
from sealbox.links import model
from sealbox.links.model import LinkRecord, LinkSpec


@dataclass(frozen=True)
class CreatedLink:
    """A new link: its URL (the only place its signature is kept) and record."""

    url: str
    record: LinkRecord

    @property
    def headers(self) -> dict[str, str]:
        """What a client must send with the link (a PUT link's Content-Type),
        for the signing endpoint's ``Headers``."""
        if self.record.content_type is None:
            return {}
        return {"Content-Type": self.record.content_type}

    def as_json(self) -> dict[str, object]:
        """``{"LinkId", "Url", "Expires", "MaxUses", "Method"}``, and
        ``VersionId`` when the link names a version."""
        out: dict[str, object] = {
            "LinkId": self.record.link_id, "Url": self.url,
            "Expires": model.iso(self.record.expires), "MaxUses": self.record.max_uses,
            "Method": self.record.method}
        if self.record.version_id is not None:
            out["VersionId"] = self.record.version_id
        return out


def link_url(spec: LinkSpec, link_id: str, credential: Credential, endpoint: str,
             region: str, now: datetime) -> str:
    """The presigned URL of a link (pure): path style on ``endpoint``, the
    link id and the response overrides among the signed parameters."""
    query = [(model.LINK_PARAMETER, link_id)]
    if spec.version_id is not None:
        query.append(("versionId", spec.version_id))
    if spec.response_content_disposition is not None:
        query.append(("response-content-disposition", spec.response_content_disposition))
    if spec.response_content_type is not None:
        query.append(("response-content-type", spec.response_content_type))
    path = "/" + quote(spec.bucket, safe="") + "/" + quote(spec.key, safe="/~")
    url = endpoint.rstrip("/") + path + "?" + urlencode(query, quote_via=quote)
    return presign_url(spec.method, url, credential, region, spec.expires, now)


def url_signature(url: str) -> str:
    """The ``X-Amz-Signature`` of a presigned URL."""
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name == "X-Amz-Signature":
            return value
    raise ValueError("no X-Amz-Signature in the URL")


def create_link(meta: object, signer: Credential, spec: LinkSpec, now: datetime, *,
                endpoint: str, region: str) -> CreatedLink:
    """Sign a managed link for ``signer`` and store its record."""
    link_id = model.new_link_id()
    url = link_url(spec, link_id, signer, endpoint, region, now)
    created = int(now.timestamp())
    record = LinkRecord(
        link_id=link_id, access_key=signer.access_key, signer=signer.principal.arn,
        bucket=spec.bucket, key=spec.key, method=spec.method, created=created,
        expires=created + spec.expires, max_uses=spec.max_uses, bind=spec.bind,
        content_type=spec.content_type, max_size=spec.max_size, note=spec.note,
        fingerprint=model.fingerprint(url_signature(url)), version_id=spec.version_id)
    meta.insert_link(record)  # type: ignore[attr-defined]
    return CreatedLink(url, record)
