"""May they, for one request: gather what the policy engine needs from the
stores and the request, and ask it.

The engine (``sealbox.access.evaluate``) is pure; this is where its inputs
come from:

- the credential of the access key (root's from the settings; IAM users'
  from the store, secrets decrypted there);
- the identity policies of a user and the bucket policy, compiled once per
  document text (a text is immutable, so that cache is never stale);
- Block Public Access of the bucket and of the server, the bucket's Object
  Ownership and owner, and ACLs (the bucket's with its rules; an object's
  read with the object, only where ACLs are enabled and an object ACL can
  grant the action, so the default bucket, ACLs disabled, reads nothing more);
- the account that owns the bucket (that of its owner's ARN): the resource
  owner of the decision, and ``s3:ResourceAccount``; without a bucket (or
  before it exists) the caller's own account; Block Public Access of the
  owner's account;
- the request context (address, TLS, referer, auth type, …).

Rules read from the store are cached per process, each entry tagged with
the store's access version (``sealbox.store.access_version``), which the
database moves on every change to them. Every request reads the version
first (one primary-key read) and uses only entries of that version, so a
change takes effect on the next request on every worker and node ("links
follow their signer": disable the key, detach the policy or delete the user
and the link stops at once) while an unchanged rule costs no reads.

Everything here is synchronous: on SQLite the reads are cheap enough to run
inline, on PostgreSQL the caller runs it in the thread pool
(``Services.read``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import unquote

from sealbox.access.acls import Acl, Grant, matching_grant, permission_for, stored_acl
from sealbox.access.actions import action_for, resource_arn
from sealbox.access.canonical_ids import account_of, canonical_id
from sealbox.access.context import (
    MAX_VALUE_CHARS,
    ContextDict,
    ValueTooLong,
    add_changing_keys,
    object_lock_keys,
    steady_context,
)
from sealbox.access.evaluate import Decision, evaluate_parts
from sealbox.access.model import MalformedPolicy, Policy, parse_policy
from sealbox.access.networks import Networks
from sealbox.access.public_access import NONE, PublicAccessBlock
from sealbox.access.residual import Residual, ResidualPolicies
from sealbox.api.common.tags import tagging_header
from sealbox.auth.principal import ACCOUNT_ID, AuthResult, Credential, Principal
from sealbox.clock import Clock
from sealbox.errors import S3Error
from sealbox.http.dates import parse_iso8601
from sealbox.server.request import Request
from sealbox.store.meta import MetaStore

log = logging.getLogger("sealbox.access")
T = TypeVar("T")

POLICY_SETTING = "policy"
PUBLIC_ACCESS_BLOCK_SETTING = "public-access-block"
ACL_SETTING = "acl"
OBJECT_ACL_HEADER = "x-amz-acl"  # where an object keeps its ACL (sealbox.api.s3.acl_writes)
OWNERSHIP_SETTING = "ownership"
LIST_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})
# The writes whose If-Match / If-None-Match a bucket policy may require, as
# the condition keys s3:if-match and s3:if-none-match ("Enforce conditional
# writes on Amazon S3 buckets", S3 User Guide).
CONDITIONAL_WRITES = frozenset({"PutObject", "CompleteMultipartUpload"})
_STEADY_KEPT = 1024  # facts remembered per (principal, bucket), then started afresh
_ROOT_ALLOWED = Decision(True, "the account root may do anything its bucket policies allow")


def account_setting(name: str, account: str) -> str:
    """The server setting holding an account's ``name`` (its Block Public
    Access): the first account's keeps the name it had before accounts."""
    return name if account == ACCOUNT_ID else f"{name}/{account}"


@lru_cache(maxsize=4096)
def compiled_policy(document: str, kind: str, bucket: str | None) -> Policy:
    """A stored policy document, compiled. Documents were checked when they
    were stored; keyed by their text, so a cached entry is never stale."""
    return parse_policy(document, kind=kind, bucket=bucket)  # type: ignore[arg-type]


def _compile_stored(document: str, kind: str, bucket: str | None) -> Policy:
    try:
        return compiled_policy(document, kind, bucket)
    except MalformedPolicy:
        # A stored document this version no longer reads: refuse rather than
        # skip it, since it may hold the Deny that protects the bucket.
        log.error("stored %s policy%s no longer parses; refusing access", kind,
                  f" of bucket {bucket}" if bucket else "")
        raise S3Error("AccessDenied") from None


@dataclass(frozen=True)
class BucketRules:
    """A bucket's access settings, as one cache entry."""

    policy: Policy | None
    public_access_block: PublicAccessBlock
    # The bucket's ACL where ACLs are enabled (Object Ownership other than
    # BucketOwnerEnforced), else None: then no ACL counts.
    acl: Acl | None
    owner_account: str  # the bucket owner's account id ("" for no bucket)
    owner_id: str  # its canonical id


@dataclass(frozen=True)
class _Policies:
    """What judges one principal's requests on one bucket (or none)."""

    rules: BucketRules | None
    public_access_block: PublicAccessBlock  # the bucket's, with its owner account's
    resource_owner: str  # the bucket's account, or the caller's without one
    policies: ResidualPolicies  # identity and bucket policies
    # A request's facts -> its steady context and residual (AccessGate._steady).
    steady: dict[Hashable, tuple[ContextDict, Residual]] = field(default_factory=dict)


class VersionedCache:
    """Values read from the store, each tagged with the access version read
    before it; an entry serves only requests of the same version. Plain dict
    operations, safe across the thread pool's threads under the GIL."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[Hashable, tuple[int, Any]] = {}
        self._max = max_entries

    def get(self, key: Hashable, version: int, load: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version:
            return entry[1]  # type: ignore[no-any-return]
        value = load()
        if len(self._entries) >= self._max:
            self._entries.clear()  # rare: more keys than entries; start over
        self._entries[key] = (version, value)
        return value


class AccessGate:
    """The credential table and the access decision, over one MetaStore."""

    def __init__(self, meta: MetaStore, root: Credential, clock: Clock,
                 networks: Networks | None = None) -> None:
        self._meta = meta
        self._root = root
        self._clock = clock
        self._networks = networks
        self._cache = VersionedCache()

    def version(self) -> int:
        """The store's access version now; read once per request."""
        return self._meta.access_version()

    # -- who ---------------------------------------------------------------
    def lookup_credential(self, access_key: str, version: int | None = None) -> Credential | None:
        """The credential of an access key id; None when unknown. Inactive
        keys are returned (inactive): the signature check refuses them."""
        if secrets.compare_digest(access_key.encode(), self._root.access_key.encode()):
            return self._root
        if len(access_key) > 128:
            return None
        meta: Any = self._meta
        return self._cache.get(("key", access_key), self._current(version),
                               lambda: meta.credential_for(access_key))

    def _current(self, version: int | None) -> int:
        return self._meta.access_version() if version is None else version

    # -- may they ----------------------------------------------------------
    def public_access_block(self, bucket: str | None, version: int | None = None, *,
                            account: str = ACCOUNT_ID) -> PublicAccessBlock:
        """The settings in force for a bucket: its own with its owner
        account's; without a bucket, ``account``'s."""
        version = self._current(version)
        if bucket is None:
            return self.account_block(account, version)
        rules = self._bucket_rules(bucket, version)
        own = rules.public_access_block
        server = self.account_block(rules.owner_account or account, version)
        return own.union(server) if server is not NONE else own

    def account_block(self, account: str, version: int | None = None) -> PublicAccessBlock:
        """An account's Block Public Access (S3 Control's, per account)."""
        meta = self._meta
        return self._cache.get(("account-pab", account), self._current(version),
                               lambda: PublicAccessBlock.from_json(meta.get_server_setting(
                                   account_setting(PUBLIC_ACCESS_BLOCK_SETTING, account))))

    def bucket_account(self, bucket: str, version: int | None = None) -> str | None:
        """The account that owns a bucket; None when there is no such bucket."""
        return self._bucket_rules(bucket, self._current(version)).owner_account or None

    def object_missing(self, bucket: str, key: str) -> bool:
        """Whether ``key`` has no current object (none, or a delete marker)."""
        record = self._meta.get_object(bucket, key)
        return record is None or record.delete_marker

    def _bucket_rules(self, bucket: str, version: int) -> BucketRules:
        meta = self._meta

        def load() -> BucketRules:
            document = meta.get_bucket_setting(bucket, POLICY_SETTING)
            policy = None if document is None else _compile_stored(document, "bucket", bucket)
            # Creating or deleting a bucket writes its settings, so the
            # access version moves and its owner is never stale here.
            record = meta.get_bucket(bucket)
            owner = "" if record is None else record.owner
            owner_id = canonical_id(owner) if owner else ""
            acl = None
            # A bucket without the setting is ObjectWriter (S3's old default).
            if record is not None and meta.get_bucket_setting(
                    bucket, OWNERSHIP_SETTING) != "BucketOwnerEnforced":
                acl = stored_acl(meta.get_bucket_setting(bucket, ACL_SETTING), owner_id)
            return BucketRules(policy, PublicAccessBlock.from_json(
                meta.get_bucket_setting(bucket, PUBLIC_ACCESS_BLOCK_SETTING)),
                acl, account_of(owner), owner_id)

        return self._cache.get(("bucket", bucket), version, load)

    def _identity_policies(self, account: str, user_name: str,
                           version: int) -> tuple[Policy, ...]:
        meta: Any = self._meta
        return self._cache.get(("user", account, user_name), version, lambda: tuple(
            _compile_stored(d, "identity", None)
            for d in meta.in_account(account).policies_for_user(user_name)))

    def _policies(self, principal: Principal, bucket: str | None, version: int) -> _Policies:
        """What judges this principal's requests on this bucket, one cache entry."""
        user = principal.name if principal.kind == "user" else None
        account = principal.account or ACCOUNT_ID

        def load() -> _Policies:
            identity = self._identity_policies(account, user, version) if user is not None else ()
            rules = None if bucket is None else self._bucket_rules(bucket, version)
            owner = account if rules is None else rules.owner_account or account
            pab = NONE
            if rules is not None:
                pab = rules.public_access_block
                server = self.account_block(owner, version)
                if server is not NONE:
                    pab = pab.union(server)
            policy = None if rules is None else rules.policy
            return _Policies(rules, pab, owner, ResidualPolicies(identity, policy))

        return self._cache.get(("policies", account, user, bucket), version, load)

    def now(self) -> datetime:
        """The server's clock, as the gate reads it."""
        return self._clock.now()

    def decide(self, request: Request, auth: AuthResult, operation: str, action: str,
               resource: str, *, bucket: str | None = None, key: str | None = None,
               extra_context: Mapping[str, tuple[str, ...]] | None = None,
               version: int | None = None) -> Decision:
        """The decision for one request. ``operation`` is the S3 operation
        (it says which query parameters are condition keys); ``version`` the
        access version this request read, if it has."""
        version = self._current(version)
        principal = auth.principal
        judges = self._policies(principal, bucket, version)
        policies = judges.policies
        rules = judges.rules
        acl_grant: Grant | None = None
        object_owner: str | None = None
        if bucket is not None and rules is not None and rules.acl is not None:
            acl_grant, object_owner = self._acl_facts(request, principal, action, rules,
                                                      judges.public_access_block, bucket, key)
        if (principal.kind == "root" and policies.bucket_policy is None and object_owner is None
                and (rules is None or not rules.owner_account
                     or account_of(principal.arn) == rules.owner_account)):
            return _ROOT_ALLOWED
        steady, residual = self._steady(request, auth, operation, judges, bucket, key,
                                        extra_context)
        context = steady
        if policies.changing:
            context = steady.copy()
            add_changing_keys(context, principal, now=self._clock.now(),
                              signed_at=auth.signed_at, wanted=policies.changing)
        # The same decision as from the policies as written, from the
        # statements this client's steady facts leave and that may admit
        # this action on this resource (sealbox.access.residual).
        identity, bucket_policy = residual.narrowed(action, resource)
        pab = judges.public_access_block
        owner = judges.resource_owner
        return evaluate_parts(principal, action, resource, identity, bucket_policy, context,
                              resource_owner=owner,
                              restrict_public_buckets=pab.restrict_public_buckets,
                              acl_grant=acl_grant, object_owner=object_owner)

    def _acl_facts(self, request: Request, principal: Principal, action: str,
                   rules: BucketRules, pab: PublicAccessBlock, bucket: str,
                   key: str | None) -> tuple[Grant | None, str | None]:
        """Where ACLs are enabled: the grant that gives the requester this
        action (the bucket's ACL, or for an object action the object's), and
        the object owner's canonical id when another account owns it."""
        assert rules.acl is not None
        ignore = pab.ignore_public_acls
        permission = permission_for(action, "bucket")
        if permission is not None:
            return matching_grant(rules.acl, principal, permission, ignore_public=ignore), None
        permission = permission_for(action, "object")
        if permission is None or key is None:
            return None, None
        version_id = request.query.get("versionId")
        record = (self._meta.get_object(bucket, key) if version_id is None
                  else self._meta.get_version(bucket, key, version_id))
        if record is None or record.delete_marker:
            return None, None  # nothing to grant; the handler says what is missing
        acl = stored_acl(record.headers.get(OBJECT_ACL_HEADER), rules.owner_id)
        grant = matching_grant(acl, principal, permission, ignore_public=ignore)
        return grant, (acl.owner if acl.owner != rules.owner_id else None)

    def _steady(self, request: Request, auth: AuthResult, operation: str, judges: _Policies,
                bucket: str | None, key: str | None,
                extra: Mapping[str, tuple[str, ...]] | None) -> tuple[ContextDict, Residual]:
        """The request's steady condition keys (all but ``CHANGING_KEYS``) and
        the residual policies they leave: the same for every request with the
        same facts, so kept per facts (unless a policy reads the object's
        tags, which are the object's, not the request's)."""
        headers = request.headers
        query = request.query
        if operation in CONDITIONAL_WRITES:
            extra = _with_write_conditions(headers, extra)
        listing = operation in LIST_OPERATIONS
        prefix = query.get("prefix") if listing else None
        delimiter = query.get("delimiter") if listing else None
        max_keys = query.get("max-keys") if listing else None
        tagging = headers.get("x-amz-tagging")
        policies = judges.policies
        facts = None
        if not policies.reads_existing_tags:
            facts = (auth.principal, auth.auth_type, auth.signature_version, request.client_ip,
                     request.secure, request.tls_version, headers.get("referer"),
                     headers.get("user-agent"), headers.get("x-amz-content-sha256"),
                     headers.get("x-amz-acl"), prefix, delimiter, max_keys, tagging,
                     None if extra is None else tuple(extra.items()))
            found = judges.steady.get(facts)
            if found is not None:
                return found
        existing_tags = None
        if key is not None and bucket is not None and policies.reads_existing_tags:
            record = self._meta.get_object(bucket, key)
            existing_tags = dict(record.tags) if record is not None else None
        context = steady_context(
            auth.principal,
            source_ip=request.client_ip or None,
            secure_transport=request.secure,
            networks=self._networks,
            referer=headers.get("referer"),
            user_agent=headers.get("user-agent"),
            auth_type=auth.auth_type,
            signature_version=auth.signature_version,
            tls_version=request.tls_version,
            content_sha256=headers.get("x-amz-content-sha256"),
            acl=headers.get("x-amz-acl"),
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            existing_object_tags=existing_tags,
            request_object_tags=None if tagging is None else dict(tagging_header(headers)),
            extra=extra,
        )
        context["s3:resourceaccount"] = (judges.resource_owner,)
        found = (context, policies.for_context(context))
        if facts is not None:
            if len(judges.steady) >= _STEADY_KEPT:
                judges.steady.clear()
            judges.steady[facts] = found
        return found


# Writes whose x-amz-object-lock-* headers are condition keys (object lock).
_LOCK_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
_LOCK_HEADERS = ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
                 "x-amz-object-lock-legal-hold")


def _lock_keys(headers: Mapping[str, str], now: datetime) -> dict[str, tuple[str, ...]] | None:
    """The ``s3:object-lock-*`` keys a write's lock headers give, if any. A
    date that does not parse gives none (the handler refuses the request)."""
    mode, until_text, hold = (headers.get(name) for name in _LOCK_HEADERS)
    if mode is None and until_text is None and hold is None:
        return None
    until = None
    if until_text is not None:
        try:
            until = parse_iso8601(until_text)
        except ValueError:
            until = None
    return object_lock_keys(mode, until, hold, now=now)


SSE_HEADER = "x-amz-server-side-encryption"
SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"
KMS_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
_MAX_SSE_VALUE = 64  # longer than any algorithm S3 knows; refused, never cut
_MAX_KMS_KEY = 2048  # a key ARN or alias ARN is far shorter; refused, never cut


def _encryption_keys(headers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """``s3:x-amz-server-side-encryption``, ``…-customer-algorithm`` and
    ``…-aws-kms-key-id`` (the key as the request names it), the condition
    keys a bucket policy uses to require encryption (S3 User Guide,
    "Requiring server-side encryption")."""
    keys: dict[str, tuple[str, ...]] = {}
    for name in (SSE_HEADER, SSE_C_HEADER, KMS_KEY_HEADER):
        value = headers.get(name)
        if value is not None:
            if len(value) > (_MAX_KMS_KEY if name == KMS_KEY_HEADER else _MAX_SSE_VALUE):
                raise S3Error("InvalidArgument", "The encryption method specified is not "
                              "supported", ArgumentName=name, ArgumentValue=value[:64])
            keys["s3:" + name] = (value,)
    return keys


def _with_write_conditions(headers: Mapping[str, str],
                           extra: Mapping[str, tuple[str, ...]] | None
                           ) -> Mapping[str, tuple[str, ...]] | None:
    """``extra`` with s3:if-match and s3:if-none-match, for the headers the
    write carries (absent headers stay absent: a policy's ``Null`` sees them)."""
    found = {name: (headers[header],) for name, header in
             (("s3:if-match", "if-match"), ("s3:if-none-match", "if-none-match"))
             if header in headers}
    if not found:
        return extra
    return {**(extra or {}), **found}


# ACL grant headers, and the condition keys that see them as sent.
_GRANT_KEYS = tuple((f"x-amz-grant-{p}", f"s3:x-amz-grant-{p}")
                    for p in ("read", "write", "read-acp", "write-acp", "full-control"))


def _grant_context(request: Request) -> dict[str, tuple[str, ...]] | None:
    """s3:x-amz-grant-* for the grant headers a request carries (rare: None
    for nearly every request)."""
    found: dict[str, tuple[str, ...]] | None = None
    for header, key in _GRANT_KEYS:
        value = request.headers.get(header)
        if value is not None:
            if len(value) > MAX_VALUE_CHARS:
                raise ValueTooLong(header, header=True)
            found = found or {}
            found[key] = (value,)
    return found


# Reads of an object whose refusal S3 turns into NoSuchKey for a requester
# who may list the bucket (GetObject's and HeadObject's "Permissions").
_READS = frozenset({"GetObject", "HeadObject"})


def _copy_keys(headers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """``s3:x-amz-copy-source`` (the source as ``bucket/key``: decoded, no
    leading ``/``, no ``?versionId``, as the S3 User Guide's examples match
    it) and ``s3:x-amz-metadata-directive``, for a copy's bucket policy."""
    keys: dict[str, tuple[str, ...]] = {}
    for header, key in (("x-amz-copy-source", "s3:x-amz-copy-source"),
                        ("x-amz-metadata-directive", "s3:x-amz-metadata-directive")):
        value = headers.get(header)
        if value is None:
            continue
        if len(value) > MAX_VALUE_CHARS:
            raise ValueTooLong(header, header=True)
        if header == "x-amz-copy-source":
            value = unquote(value.split("?", 1)[0]).lstrip("/")
        keys[key] = (value,)
    return keys


def refusal(gate: AccessGate, request: Request, auth: AuthResult, operation: str,
            bucket: str | None, key: str | None, version: int | None) -> S3Error:
    """What a refused request is told. AccessDenied, but as S3 tells it:
    a bucket that does not exist is NoSuchBucket to anyone (bucket names are
    global: CreateBucket would tell as much); a GetObject or HeadObject of a
    key with no object is NoSuchKey for a requester allowed s3:ListBucket
    with ``s3:prefix`` the key (GetObject, "Permissions": "If you have the
    s3:ListBucket permission … 404 Not Found", and a listing by that prefix
    would show as much), AccessDenied otherwise."""
    if bucket is None or operation == "CreateBucket":
        return S3Error("AccessDenied")
    if gate.bucket_account(bucket, version) is None:
        return S3Error("NoSuchBucket", BucketName=bucket)
    if (operation in _READS and key is not None and "versionId" not in request.query
            and gate.object_missing(bucket, key)
            and may_list_key(gate, request, auth, bucket, key, version)):
        return S3Error("NoSuchKey", Key=key)
    return S3Error("AccessDenied")


def may_list_key(gate: AccessGate, request: Request, auth: AuthResult, bucket: str, key: str,
                 version: int | None = None) -> bool:
    """Whether the requester may learn that ``key`` has no object: allowed
    s3:ListBucket with ``s3:prefix`` the key, as a listing by that prefix
    would tell as much (S3 then says 404, else 403)."""
    return gate.decide(request, auth, "ListObjects", "s3:ListBucket",
                       resource_arn("bucket", bucket, None), bucket=bucket,
                       extra_context={"s3:prefix": (key,)}, version=version).allowed


def authorize_s3(gate: AccessGate, request: Request, auth: AuthResult, operation: str,
                 bucket: str | None, key: str | None, version: int | None = None) -> Decision:
    """Judge an S3 operation by the action the table names; AccessDenied if refused."""
    action, kind = action_for(operation, "versionId" in request.query)
    headers = request.headers
    extra = _lock_keys(headers, gate.now()) if operation in _LOCK_WRITES else None
    if SSE_HEADER in headers or SSE_C_HEADER in headers:
        extra = {**(extra or {}), **_encryption_keys(headers)}
    if operation in ("CopyObject", "UploadPartCopy"):
        extra = {**(extra or {}), **_copy_keys(headers)}
    # CreateBucket is judged in the caller's account: a name another account
    # holds is then BucketAlreadyExists, as on S3, not AccessDenied.
    judged = None if operation == "CreateBucket" else bucket
    decision = gate.decide(request, auth, operation, action, resource_arn(kind, bucket, key),
                           bucket=judged, key=key if kind == "object" else None,
                           extra_context=(extra if (grants := _grant_context(request)) is None
                                          else {**(extra or {}), **grants}),
                           version=version)
    if not decision.allowed:
        raise refusal(gate, request, auth, operation, bucket, key, version)
    expected = request.headers.get("x-amz-expected-bucket-owner")
    if expected is not None and bucket is not None and operation != "CreateBucket":
        # S3: a request naming another account as the bucket's owner is
        # refused, so a client never writes to (or reads from) a bucket of
        # the same name that another account holds.
        owner = gate.bucket_account(bucket, version)
        if owner is not None and expected != owner:
            raise S3Error("AccessDenied")
    return decision
