"""A distribution's configuration: the document as the client sent it, and
the typed view of it the edge serves from. Pure.

The document is CloudFront's ``DistributionConfig`` as an ordered tree of
``[name, value]`` pairs, where a value is the element's text or a list of
child pairs — the form ``sealbox.api.s3.xml.render`` writes and JSON keeps.
It is stored whole, so ``GetDistributionConfig`` returns every element it
was given (logging, certificates, restrictions …, which sealbox keeps but
does not act on). ``normalise`` puts every element in botocore's member
order (``edge_shapes``; CloudFront answers in that order, whatever order
the client wrote) and adds the defaults CloudFront adds to a new distribution,
so a ``get-distribution-config`` → edit → ``update-distribution`` round
trip with the AWS CLI carries a complete document.

``DistributionConfig.from_document`` checks what sealbox acts on and raises
``EdgeError`` with CloudFront's code for anything it refuses: missing
elements and bad values (``MalformedInput``, ``InvalidArgument``),
``Quantity`` not matching ``Items`` (``InconsistentQuantities``), a
behaviour naming no origin (``NoSuchOrigin``), TTLs out of order
(``InvalidTTLOrder``). Whether buckets, key groups and origin access
controls exist is the store's check, in the transaction that saves it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sealbox.http.header_values import has_control, is_token
from sealbox.store.edge_errors import EdgeError
from sealbox.store.edge_shapes import LISTS, STRUCTURES
from sealbox.wildcards import Glob, compile_glob

Node = str | list[Any]  # text, or a list of [name, Node] pairs
Document = list[Any]

# DistributionConfig's members, in botocore's order (service-2.json 2020-05-31).
_CONFIG_ORDER = ["CallerReference", "Aliases", "DefaultRootObject", "Origins", "OriginGroups", "DefaultCacheBehavior", "CacheBehaviors", "CustomErrorResponses", "Comment", "Logging", "PriceClass", "Enabled", "ViewerCertificate", "Restrictions", "WebACLId", "HttpVersion", "IsIPV6Enabled", "ContinuousDeploymentPolicyId", "Staging", "AnycastIpListId", "TenantConfig", "ConnectionMode", "ViewerMtlsConfig", "ConnectionFunctionAssociation", "CacheTagConfig"]
_REQUIRED = ("CallerReference", "Origins", "DefaultCacheBehavior", "Comment", "Enabled")

# What CloudFront fills in when a new distribution's config leaves it out.
_DEFAULTS: dict[str, Node] = {
    "Aliases": [["Quantity", "0"]],
    "DefaultRootObject": "",
    "OriginGroups": [["Quantity", "0"]],
    "CacheBehaviors": [["Quantity", "0"]],
    "CustomErrorResponses": [["Quantity", "0"]],
    "Logging": [["Enabled", "false"], ["IncludeCookies", "false"], ["Bucket", ""], ["Prefix", ""]],
    "PriceClass": "PriceClass_All",
    "ViewerCertificate": [
        ["CloudFrontDefaultCertificate", "true"], ["SSLSupportMethod", "vip"],
        ["MinimumProtocolVersion", "TLSv1"], ["CertificateSource", "cloudfront"],
    ],
    "Restrictions": [["GeoRestriction", [["RestrictionType", "none"], ["Quantity", "0"]]]],
    "WebACLId": "",
    "HttpVersion": "http2",
    "IsIPV6Enabled": "true",
    "Staging": "false",
}

VIEWER_PROTOCOL_POLICIES = frozenset({"allow-all", "redirect-to-https", "https-only"})
DEFAULT_TTLS = (0, 86400, 31536000)  # CloudFront's MinTTL, DefaultTTL, MaxTTL defaults
# AWS's managed cache policies a config may name instead of legacy TTLs
# (Using the managed cache policies, CloudFront Developer Guide).
MANAGED_CACHE_POLICIES: dict[str, tuple[int, int, int]] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": (1, 86400, 31536000),  # CachingOptimized
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": (0, 0, 0),  # CachingDisabled
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": (1, 86400, 31536000),  # CachingOptimizedForUncompressedObjects
}
# AWS's managed origin request policies: the viewer headers each forwards to
# the origin (Using the managed origin request policies). A header an origin
# request policy forwards is not part of the cache key; one a legacy
# ForwardedValues list names is both.
_ALL_VIEWER = frozenset({"referer", "origin", "access-control-request-method",
                         "access-control-request-headers"})
_CORS = frozenset({"origin", "access-control-request-method", "access-control-request-headers"})
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, frozenset[str]] = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": _ALL_VIEWER,  # AllViewer
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": _ALL_VIEWER,  # AllViewerExceptHostHeader
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": _ALL_VIEWER,  # AllViewerAndCloudFrontHeaders-2022-06
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": _CORS,  # CORS-S3Origin
    "59781a5b-3903-41f3-afcb-af62929ccde1": _CORS,  # CORS-CustomOrigin
    "acba4595-bd28-49b8-b9fe-13317c0390fa": frozenset({"referer"}),  # UserAgentRefererHeaders
}
MAX_COMMENT = 128
MAX_TTL_VALUE = 3153600000  # 100 years, CloudFront's ceiling
_S3_HOST = re.compile(r"(.+)\.s3(?:[.-][a-z0-9-]+)?(?:\.dualstack)?\.amazonaws\.com", re.IGNORECASE)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HOSTNAME = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _error(code: str, message: str) -> Exception:
    return EdgeError(code, message)


# -- the tree ------------------------------------------------------------------


def child(node: Node | None, name: str) -> Node | None:
    """The value of ``node``'s first child named ``name``, or ``None``."""
    if isinstance(node, list):
        for pair in node:
            if pair[0] == name:
                return pair[1]  # type: ignore[no-any-return]
    return None


def text(node: Node | None, name: str) -> str | None:
    value = child(node, name)
    if value is None:
        return None
    if not isinstance(value, str):
        # <Name></Name> may come back as an empty list from some writers.
        if value == []:
            return ""
        raise _error("MalformedInput", f"{name} must be text")
    return value


def boolean(node: Node | None, name: str, default: bool | None = None) -> bool:
    value = text(node, name)
    if value is None:
        if default is None:
            raise _error("MalformedInput", f"Missing required element {name}")
        return default
    v = value.strip()
    if v not in ("true", "false"):
        raise _error("MalformedInput", f"{name} must be true or false, not {v[:64]!r}")
    return v == "true"


def integer(node: Node | None, name: str, default: int | None = None) -> int:
    value = text(node, name)
    if value is None:
        if default is None:
            raise _error("MalformedInput", f"Missing required element {name}")
        return default
    v = value.strip()
    if not re.fullmatch(r"-?[0-9]{1,19}", v):
        raise _error("MalformedInput", f"{name} must be a number, not {v[:64]!r}")
    return int(v)


def items(node: Node | None, item_name: str, *, where: str) -> list[Node]:
    """A CloudFront list (``Quantity`` + ``Items``), with the quantity checked."""
    if node is None:
        return []
    quantity = integer(node, "Quantity")
    found = child(node, "Items")
    values: list[Node] = []
    if isinstance(found, list):
        for pair in found:
            if pair[0] != item_name:
                raise _error("MalformedInput", f"Unexpected element {pair[0]} in {where}.Items")
            values.append(pair[1])
    if quantity != len(values):
        raise _error(
            "InconsistentQuantities",
            f"The value of Quantity and the size of Items don't match ({where}).",
        )
    return values


def strings(node: Node | None, item_name: str, *, where: str) -> tuple[str, ...]:
    out = []
    for value in items(node, item_name, where=where):
        if not isinstance(value, str):
            raise _error("MalformedInput", f"{where} items must be text")
        out.append(value.strip())
    return tuple(out)


def normalise(document: Document) -> Document:
    """Every element in botocore's order (``edge_shapes``), CloudFront's
    top-level defaults added; elements sealbox does not know are kept, after
    the known ones of their parent."""
    given: dict[str, Node] = {}
    for pair in document:
        name = pair[0]
        if name in _CONFIG_ORDER:
            if name in given:
                raise _error("MalformedInput", f"Duplicate element {name}")
            given[name] = pair[1]
    defaults = [[name, value] for name, value in _DEFAULTS.items() if name not in given]
    return _ordered([*document, *defaults], "DistributionConfig")  # type: ignore[return-value]


def _ordered(node: Node, shape: str) -> Node:
    if not isinstance(node, list) or not shape:
        return node
    if shape in LISTS:
        item, item_shape = LISTS[shape]
        return [[n, _ordered(v, item_shape) if n == item else v] for n, v in node]
    members = STRUCTURES.get(shape)
    if members is None:
        return node
    rank = {name: i for i, (name, _) in enumerate(members)}
    shapes = dict(members)
    known = sorted((p for p in node if p[0] in rank), key=lambda p: rank[p[0]])
    unknown = [list(p) for p in node if p[0] not in rank]
    return [[n, _ordered(v, shapes[n])] for n, v in known] + unknown


# -- path patterns -------------------------------------------------------------


@lru_cache(maxsize=1024)
def _path_glob(pattern: str) -> Glob:
    return compile_glob(pattern if pattern.startswith(("/", "*")) else "/" + pattern)


def path_matches(pattern: str, path: str) -> bool:
    """CloudFront's path patterns: case-sensitive, ``*`` any run of
    characters, ``?`` one; the leading ``/`` is optional in the pattern
    (Cache behavior settings: Path pattern). Also invalidation paths.
    Matched by ``sealbox.wildcards`` (never backtracks), each compiled once."""
    return _path_glob(pattern).match(path)


# -- the typed view ------------------------------------------------------------


def origin_bucket(domain_name: str) -> str | None:
    """The sealbox bucket an origin's DomainName names: ``<bucket>.s3.amazonaws.com``,
    ``<bucket>.s3.<region>.amazonaws.com``, ``<bucket>.s3-<region>.amazonaws.com``,
    or the bare bucket name; ``None`` when it names none."""
    d = domain_name.strip().rstrip(".")
    m = _S3_HOST.fullmatch(d)
    name = m.group(1) if m else d
    return name if _BUCKET.fullmatch(name) and ".." not in name else None


@dataclass(frozen=True)
class Origin:
    """Where a behaviour's misses are fetched: a sealbox bucket (and a key prefix)."""

    id: str
    domain_name: str
    bucket: str
    origin_path: str  # "" or "/prefix", prepended to the viewer's path
    origin_access_control_id: str  # "" when none


@dataclass(frozen=True)
class CacheBehavior:
    """One cache behaviour; the default one has ``path_pattern`` ``"*"``."""

    path_pattern: str
    target_origin_id: str
    viewer_protocol_policy: str
    trusted_key_groups_enabled: bool
    trusted_key_groups: tuple[str, ...]  # key group ids; empty unless enabled
    min_ttl: int
    default_ttl: int
    max_ttl: int
    cache_policy_id: str  # "" for the legacy TTL fields
    forward_referer: bool  # the origin sees the viewer's Referer
    forward_query_string: bool
    allowed_methods: tuple[str, ...]
    compress: bool
    forward_origin: bool = False  # Origin (and CORS preflight headers): S3 answers CORS
    # Viewer headers that are part of the cache key (lower-case): a response
    # is kept per value of each (legacy ForwardedValues headers).
    cache_key_headers: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        """Viewers need a signed URL or signed cookies."""
        return self.trusted_key_groups_enabled


def _behavior(node: Node, pattern: str | None, origins: set[str], where: str) -> CacheBehavior:
    if not isinstance(node, list):
        raise _error("MalformedInput", f"{where} must have elements")
    if pattern is None:
        pattern = text(node, "PathPattern")
        if not pattern:
            raise _error("InvalidArgument", f"{where}: PathPattern is required.")
        if len(pattern) > 255:
            raise _error("InvalidArgument", f"{where}: PathPattern is longer than 255 characters.")
    target = text(node, "TargetOriginId")
    if target is None:
        raise _error("MalformedInput", f"Missing required element {where}.TargetOriginId")
    if target not in origins:
        raise _error("NoSuchOrigin", "One or more of your origins or origin groups do not exist.")
    vpp = (text(node, "ViewerProtocolPolicy") or "").strip()
    if vpp not in VIEWER_PROTOCOL_POLICIES:
        raise _error(
            "InvalidArgument", f"ViewerProtocolPolicy must be one of allow-all, "
            f"redirect-to-https, https-only, not {vpp[:64]!r}."
        )
    tkg = child(node, "TrustedKeyGroups")
    enabled = boolean(tkg, "Enabled") if tkg is not None else False
    groups = strings(tkg, "KeyGroup", where="TrustedKeyGroups") if tkg is not None else ()
    if enabled and not groups:
        raise _error("InvalidArgument", "TrustedKeyGroups is enabled but names no key group.")
    policy = (text(node, "CachePolicyId") or "").strip()
    fv = child(node, "ForwardedValues")
    if not policy and fv is None:
        raise _error("InvalidArgument", "The parameter ForwardedValues is required.")
    if policy:
        ttls = MANAGED_CACHE_POLICIES.get(policy, DEFAULT_TTLS)
    else:
        ttls = (
            integer(node, "MinTTL", DEFAULT_TTLS[0]),
            integer(node, "DefaultTTL", DEFAULT_TTLS[1]),
            integer(node, "MaxTTL", DEFAULT_TTLS[2]),
        )
        if min(ttls) < 0 or max(ttls) > MAX_TTL_VALUE:
            raise _error("InvalidArgument", "TTL values must be between 0 and 3153600000.")
        if not ttls[0] <= ttls[1] <= ttls[2]:
            raise _error("InvalidTTLOrder", "The TTL order specified in CacheBehavior is not valid.")
    headers = strings(child(fv, "Headers"), "Name", where="Headers") if fv is not None else ()
    keyed = tuple(sorted({h.lower() for h in headers}))
    forwarded = set(keyed) | MANAGED_ORIGIN_REQUEST_POLICIES.get(
        (text(node, "OriginRequestPolicyId") or "").strip(), frozenset())
    everything = "*" in forwarded
    methods = strings(child(node, "AllowedMethods"), "Method", where="AllowedMethods")
    return CacheBehavior(
        path_pattern=pattern,
        target_origin_id=target,
        viewer_protocol_policy=vpp,
        trusted_key_groups_enabled=enabled,
        trusted_key_groups=groups if enabled else (),
        min_ttl=ttls[0],
        default_ttl=ttls[1],
        max_ttl=ttls[2],
        cache_policy_id=policy,
        forward_referer=everything or "referer" in forwarded,
        forward_query_string=boolean(fv, "QueryString", False) if fv is not None else False,
        allowed_methods=methods or ("GET", "HEAD"),
        compress=boolean(node, "Compress", False),
        forward_origin=everything or "origin" in forwarded,
        cache_key_headers=keyed,
    )


def _origin(node: Node) -> Origin:
    oid = text(node, "Id")
    domain = text(node, "DomainName")
    if not oid or domain is None:
        raise _error("MalformedInput", "An origin needs an Id and a DomainName.")
    bucket = origin_bucket(domain)
    if bucket is None:
        raise _error("InvalidOrigin", "The specified origin server does not exist or is not valid.")
    path = (text(node, "OriginPath") or "").strip()
    if path and (not path.startswith("/") or path.endswith("/")):
        raise _error("InvalidArgument", "OriginPath must begin with / and must not end with /.")
    _check_custom_headers(child(node, "CustomHeaders"))
    return Origin(oid.strip(), domain.strip(), bucket, path,
                  (text(node, "OriginAccessControlId") or "").strip())


def _check_custom_headers(node: Node | None) -> None:
    """An origin's custom headers are kept (and returned), not sent: origins
    here are local buckets. They are headers all the same, so one that
    could never be sent is refused as CloudFront refuses a bad value."""
    for header in items(node, "OriginCustomHeader", where="CustomHeaders"):
        name, value = text(header, "HeaderName") or "", text(header, "HeaderValue") or ""
        if not is_token(name) or has_control(value):
            raise _error("InvalidArgument", "The parameter HeaderName or HeaderValue of "
                         f"OriginCustomHeader is not valid: {name[:64]!r}")


@dataclass(frozen=True)
class CloudFrontLogging:
    """A distribution's ``Logging`` when enabled: the bucket its standard
    logs go to (named by its S3 domain, ``name.s3.amazonaws.com``), the
    prefix, and whether cookies are written (sealbox.logs)."""

    bucket: str
    prefix: str
    include_cookies: bool = False


def _logging(doc: Node) -> CloudFrontLogging | None:
    node = child(doc, "Logging")
    if node is None or not boolean(node, "Enabled", False):
        return None
    bucket = bucket_from_domain(text(node, "Bucket") or "")
    if not bucket:
        raise _error("InvalidArgument", "The parameter Logging Bucket is required when "
                     "logging is enabled.")
    prefix = text(node, "Prefix") or ""
    if len(prefix.encode()) > 512 or has_control(prefix):
        raise _error("InvalidArgument", "The parameter Logging Prefix is not valid.")
    return CloudFrontLogging(bucket, prefix, boolean(node, "IncludeCookies", False))


def bucket_from_domain(domain: str) -> str:
    """``name`` from ``name.s3.amazonaws.com`` or ``name.s3.<region>.amazonaws.com``
    (CloudFront names the log bucket by its S3 domain), or a bare ``name``."""
    domain = domain.strip().lower()
    if domain.endswith(".amazonaws.com") and ".s3." in domain:
        return domain.split(".s3.", 1)[0]
    return domain


@dataclass(frozen=True)
class DistributionConfig:
    """What the edge acts on, read from ``document`` (kept for rendering)."""

    caller_reference: str
    aliases: tuple[str, ...]  # lower-case host names, perhaps "*.example.com"
    default_root_object: str
    origins: tuple[Origin, ...]
    default_behavior: CacheBehavior
    behaviors: tuple[CacheBehavior, ...]  # in order; the first match wins
    comment: str
    enabled: bool
    document: Document = field(compare=False, repr=False)
    logging: CloudFrontLogging | None = None  # standard logs, when enabled

    @classmethod
    def from_document(cls, document: Document) -> DistributionConfig:
        """The config in ``document`` (normalised first), or ``EdgeError``."""
        doc = normalise(document)
        for name in _REQUIRED:
            if child(doc, name) is None:
                raise _error("MalformedInput", f"Missing required element {name}")
        caller = (text(doc, "CallerReference") or "").strip()
        if not caller:
            raise _error("InvalidArgument", "CallerReference is required.")
        comment = text(doc, "Comment") or ""
        if len(comment) > MAX_COMMENT:
            raise _error("InvalidArgument", "The parameter Comment is too long.")
        aliases = tuple(a.lower() for a in strings(child(doc, "Aliases"), "CNAME", where="Aliases"))
        for a in aliases:
            if len(a) > 253 or not _HOSTNAME.fullmatch(a):
                raise _error("InvalidArgument", f"The parameter CNAME contains an invalid value: {a[:64]}")
        if len(set(aliases)) != len(aliases):
            raise _error("InvalidArgument", "The parameter CNAME contains duplicates.")
        origins = tuple(_origin(o) for o in items(child(doc, "Origins"), "Origin", where="Origins"))
        if not origins:
            raise _error("InvalidArgument", "A distribution needs at least one origin.")
        ids = {o.id for o in origins}
        if len(ids) != len(origins):
            raise _error("InvalidArgument", "The parameter origin Id must be unique.")
        default = _behavior(child(doc, "DefaultCacheBehavior") or [], "*", ids, "DefaultCacheBehavior")
        behaviors = tuple(
            _behavior(b, None, ids, "CacheBehavior")
            for b in items(child(doc, "CacheBehaviors"), "CacheBehavior", where="CacheBehaviors")
        )
        root = (text(doc, "DefaultRootObject") or "").strip()
        if root.startswith("/"):
            raise _error("InvalidDefaultRootObject", "The DefaultRootObject must not begin with /.")
        return cls(caller, aliases, root, origins, default, behaviors, comment,
                   boolean(doc, "Enabled"), doc, _logging(doc))

    def behavior_for(self, path: str) -> CacheBehavior:
        """The behaviour serving ``path`` (the URL path, decoded, with its
        leading ``/``): the first cache behaviour whose pattern matches, else
        the default one."""
        for b in self.behaviors:
            if path_matches(b.path_pattern, path):
                return b
        return self.default_behavior

    def origin(self, origin_id: str) -> Origin:
        """The origin a behaviour's ``target_origin_id`` names (checked on save)."""
        for o in self.origins:
            if o.id == origin_id:
                return o
        raise KeyError(origin_id)

    @property
    def key_group_ids(self) -> frozenset[str]:
        """Every key group any behaviour trusts."""
        return frozenset(
            g for b in (self.default_behavior, *self.behaviors) for g in b.trusted_key_groups
        )

    @property
    def oac_ids(self) -> frozenset[str]:
        return frozenset(o.origin_access_control_id for o in self.origins if o.origin_access_control_id)

    @property
    def buckets(self) -> frozenset[str]:
        return frozenset(o.bucket for o in self.origins)
