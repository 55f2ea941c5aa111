"""Edge: CloudFront's public keys, key groups, origin access controls,
distributions (made from a bucket in one form) and invalidations.

Every read and change is the admin API's edge route as the signed-in
principal (``/_sealbox/api/v1/edge/…``), which runs the CloudFront API's
own operations: its checks (a PEM CloudFront takes, a distribution
disabled before it is deleted), its optimistic locking (a change or delete
names the current ETag in ``If-Match``, read just before) and its
refusals, shown in a page.
"""

from __future__ import annotations

import uuid
from typing import Any

from sealbox.console import results
from sealbox.console.access import Section, api_path, section
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import redirect
from sealbox.server.responses import Response

MAX_PEM = 16 * 1024
MAX_PATHS = 3000  # CloudFront's limit of paths in one invalidation
PROTOCOLS = (("redirect-to-https", "Redirect HTTP to HTTPS"), ("https-only", "HTTPS only"),
             ("allow-all", "HTTP and HTTPS"))
NEW_OAC = "new"
# What a list answers under, as CloudFront (and boto3) name it.
_LISTS = {"public-keys": "PublicKeyList", "key-groups": "KeyGroupList",
          "origin-access-controls": "OriginAccessControlList",
          "distributions": "DistributionList"}


def edge_path(*parts: str) -> str:
    return api_path("edge", *parts)


async def _read(page: Page, *parts: str) -> Any:
    return results.checked(await page.caller.admin("GET", edge_path(*parts))).json()


async def _create(page: Page, plural: str, body: dict[str, Any]) -> Any:
    return results.checked(await page.caller.admin("POST", edge_path(plural),
                                                   payload=body)).json()


async def _delete(page: Page, *parts: str) -> None:
    """A delete with CloudFront's If-Match: the ETag read just before."""
    etag = (await _read(page, *parts)).get("ETag", "")
    results.checked(await page.caller.admin("DELETE", edge_path(*parts),
                                            headers={"if-match": etag}))


def _list(items: list[Any], **extra: Any) -> dict[str, Any]:
    """A CloudFront list: ``Quantity`` and, when there are any, ``Items``."""
    return {**extra, "Quantity": len(items), **({"Items": items} if items else {})}


def distribution_config(bucket: str, *, oac: str | None, key_group: str | None,
                        aliases: list[str], protocol: str, comment: str,
                        root_object: str) -> dict[str, Any]:
    """A whole DistributionConfig (boto3's JSON shape) for one bucket: the
    shape ``sealbox edge distribution create --bucket`` sends."""
    origin_id = f"{bucket}-origin"
    origin: dict[str, Any] = {"Id": origin_id, "DomainName": f"{bucket}.s3.amazonaws.com",
                              "S3OriginConfig": {"OriginAccessIdentity": ""}}
    if oac:
        origin["OriginAccessControlId"] = oac
    groups = [key_group] if key_group else []
    config: dict[str, Any] = {
        "CallerReference": str(uuid.uuid4()),
        "Aliases": _list(aliases),
        "Origins": _list([origin]),
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "TrustedKeyGroups": _list(groups, Enabled=bool(groups)),
            "ViewerProtocolPolicy": protocol,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"},
                                "Headers": _list([])},
            "MinTTL": 0, "DefaultTTL": 86400, "MaxTTL": 31536000,
        },
        "Comment": comment,
        "Enabled": True,
    }
    if root_object:
        config["DefaultRootObject"] = root_object
    return config


async def _section(page: Page, plural: str) -> Section:
    """The first 1000 of a kind (CloudFront's own page limit), or the refusal."""
    return await section(page, _LISTS[plural], "edge", plural, query=[("MaxItems", "1000")])


async def overview(page: Page) -> Response:
    """Each list on its own: a principal allowed some sees those, and the
    refusal of the others."""
    keys = await _section(page, "public-keys")
    groups = await _section(page, "key-groups")
    groups = Section([g["KeyGroup"] for g in groups.items], groups.refusal)
    oacs = await _section(page, "origin-access-controls")
    distributions = await _section(page, "distributions")
    if keys.refusal and groups.refusal and oacs.refusal and distributions.refusal:
        raise results.Refused(distributions.refusal)
    buckets_answer = await page.caller.s3("GET", "/")
    buckets = [b.name for b in results.buckets(buckets_answer)] if buckets_answer.ok else []
    return page.render("edge.html", keys=keys, groups=groups, oacs=oacs,
                       distributions=distributions, buckets=buckets, protocols=PROTOCOLS,
                       new_oac=NEW_OAC, url=url)


async def create_public_key(page: Page) -> Response:
    pem = page.required("pem")
    if len(pem) > MAX_PEM:
        raise BadForm(f"A public key's PEM is at most {MAX_PEM} characters.")
    await _create(page, "public-keys", {"Name": page.required("name").strip(),
                                        "EncodedKey": pem, "Comment": page.arg("comment")})
    return redirect(url("edge"))


async def create_key_group(page: Page) -> Response:
    chosen = page.form_list("key")
    if not chosen:
        raise BadForm("A key group holds at least one public key.")
    await _create(page, "key-groups", {"Name": page.required("name").strip(),
                                       "Items": chosen, "Comment": page.arg("comment")})
    return redirect(url("edge"))


async def create_oac(page: Page) -> Response:
    await _create(page, "origin-access-controls", _oac_body(page.required("name").strip()))
    return redirect(url("edge"))


def _oac_body(name: str) -> dict[str, Any]:
    return {"Name": name, "Description": "", "SigningProtocol": "sigv4",
            "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"}


async def create_distribution(page: Page) -> Response:
    """One form: the bucket, its origin access control (an existing one, or
    a new one made here first), a key group, names, the viewer protocol."""
    bucket = page.required("bucket").strip()
    protocol = page.arg("protocol", PROTOCOLS[0][0])
    if protocol not in dict(PROTOCOLS):
        raise BadForm("Choose a viewer protocol policy from the list.")
    oac = page.arg("oac") or None
    if oac == NEW_OAC:
        made = await _create(page, "origin-access-controls",
                             _oac_body(f"{bucket}-{uuid.uuid4().hex[:8]}"))
        oac = made["OriginAccessControl"]["Id"]
    aliases = [a for a in page.arg("aliases").replace(",", " ").split() if a]
    config = distribution_config(bucket, oac=oac, key_group=page.arg("key_group") or None,
                                 aliases=aliases, protocol=protocol,
                                 comment=page.arg("comment")[:128],
                                 root_object=page.arg("root_object").strip())
    made = await _create(page, "distributions", config)
    return redirect(url("edge/distribution", id=made["Distribution"]["Id"]))


async def distribution_page(page: Page) -> Response:
    distribution_id = page.required("id")
    found = await _read(page, "distributions", distribution_id)
    invalidations = await page.caller.admin(
        "GET", edge_path("distributions", distribution_id, "invalidations"))
    items = ((results.checked(invalidations).json().get("InvalidationList") or {})
             .get("Items") or [])
    distribution = found["Distribution"]
    config = distribution["DistributionConfig"]
    return page.render("distribution.html", d=distribution, config=config,
                       origin=(config.get("Origins", {}).get("Items") or [{}])[0],
                       groups=(config.get("DefaultCacheBehavior", {}).get("TrustedKeyGroups", {})
                               .get("Items") or []),
                       aliases=config.get("Aliases", {}).get("Items") or [],
                       invalidations=items, url=url)


async def set_enabled(page: Page) -> Response:
    """Enable or disable: the config read with its ETag, sent back changed."""
    distribution_id = page.required("id")
    current = await _read(page, "distributions", distribution_id, "config")
    config = current["DistributionConfig"]
    config["Enabled"] = page.arg("enabled") == "true"
    results.checked(await page.caller.admin(
        "PUT", edge_path("distributions", distribution_id, "config"), payload=config,
        headers={"if-match": current.get("ETag", "")}))
    return redirect(url("edge/distribution", id=distribution_id))


async def invalidate(page: Page) -> Response:
    distribution_id = page.required("id")
    paths = [p.strip() for p in page.required("paths").splitlines() if p.strip()]
    if not paths or len(paths) > MAX_PATHS:
        raise BadForm(f"Give between 1 and {MAX_PATHS} paths, one a line.")
    body = {"CallerReference": str(uuid.uuid4()), "Paths": _list(paths)}
    results.checked(await page.caller.admin(
        "POST", edge_path("distributions", distribution_id, "invalidations"), payload=body))
    return redirect(url("edge/distribution", id=distribution_id))


# What each delete names, and where the browser goes after it.
KINDS = {"public-key": ("public-keys", "public key"), "key-group": ("key-groups", "key group"),
         "oac": ("origin-access-controls", "origin access control"),
         "distribution": ("distributions", "distribution")}


def _kind(page: Page) -> tuple[str, str, str]:
    kind = page.required("kind")
    if kind not in KINDS:
        raise BadForm("Nothing of that kind can be deleted here.")
    plural, noun = KINDS[kind]
    return plural, noun, page.required("id")


async def confirm_delete(page: Page) -> Response:
    plural, noun, resource_id = _kind(page)
    note = " (CloudFront refuses while it is enabled: disable it first.)" \
        if plural == "distributions" else ""
    return page.render("confirm.html", title=f"Delete a {noun}",
                       question=f"Delete the {noun} {resource_id}?{note}",
                       action="edge/delete", fields={"kind": page.required("kind"),
                                                     "id": resource_id},
                       cancel=url("edge"))


async def delete(page: Page) -> Response:
    plural, _, resource_id = _kind(page)
    await _delete(page, plural, resource_id)
    return redirect(url("edge"))
