"""May they: the access decision for one request. Pure: facts in, decision out.

Evaluation as AWS's "Policy evaluation logic", "Cross-account policy
evaluation logic" and "How Amazon S3 authorizes a request" describe it:

1. An explicit ``Deny`` in any applicable statement — the identity's
   policies or the bucket policy — wins.
2. Else, when the principal's account owns the resource
   (``resource_owner``), an ``Allow`` in the identity's policies *or* the
   bucket policy allows: either suffices.
3. A principal of another account needs both: its own account's Allow (an
   identity policy; a root has it implicitly, for everything) *and* the
   owner's (the bucket policy naming it, its account or everyone).
4. Else the request is implicitly denied.

- The account root has every identity permission, but a bucket policy's
  explicit Deny applies to it — except that the owning account's root may
  always Get/Put/Delete the bucket policy, so it can undo a policy that
  locks everyone out (S3 User Guide: "the root user … can always use
  GetBucketPolicy, PutBucketPolicy and DeleteBucketPolicy, even if their
  policy explicitly denies the root user"). Another account's root has no
  such right, and without a bucket policy that allows it, no access.
- Anonymous requests have no identity policies: only a bucket-policy
  statement whose principal is ``"*"`` (or ``{"AWS": "*"}``) can allow
  them. With ``restrict_public_buckets`` (Block Public Access) a public
  bucket policy allows nobody outside the account.
- A bucket-policy statement naming the *account* (``"AWS":
  "arn:aws:iam::000000000000:root"`` or the bare id) delegates to the
  account: its Allow grants the root, while users still need an identity
  policy; its Deny applies to everyone in the account.
- ``NotPrincipal`` (Deny only) applies unless every identity of the
  request is listed: a user's request also carries its account, so a user
  is exempt only when both the user's ARN and the account are listed
  (IAM docs, "NotPrincipal": "you must also specify the account ARN").

ACLs (``sealbox.access.acls``), where a bucket enables them, are resource
grants beside the bucket policy ("How Amazon S3 authorizes a request"): the
gate finds the grant that gives the requester the permission, and here it
allows as the bucket policy's Allow would, after every explicit Deny: for
anonymous requests and other accounts' roots alone, for another account's
users together with their own account's Allow, and for the owner's own
users only when it is a group's (a grant to the owner's canonical id is the
owner's FULL_CONTROL, which its users have only through their policies).
When another account owns the object (Object Ownership ``ObjectWriter``),
the object's ACL alone speaks for it: the bucket policy cannot grant what
the bucket owner does not own, and its root needs a grant like anyone.

The decision names the statement that decided — the first Deny that
applied, or the first Allow — for the audit trail and the doctor.

Contract: what the server supplies per request
==============================================

``evaluate(AccessRequest(principal, action, resource, ...))`` with:

- ``principal``: the authenticated ``Principal`` (``ANONYMOUS`` when
  unsigned); ``action`` from ``ACTIONS[operation]``; ``resource`` from
  ``resource_arn(kind, bucket, key)``.
- ``identity_policies``: the compiled (``parse_policy(kind="identity")``)
  policies attached to the user, directly or through groups; empty for
  root and anonymous. Cache compiled policies; recompile on change.
- ``bucket_policy``: the compiled bucket policy, or None.
- ``restrict_public_buckets``: the bucket's (or account's) Block Public
  Access ``RestrictPublicBuckets``.
- ``context``: ``context.request_context(principal, ...)`` built from
    * ``now`` — the server's clock (aws:CurrentTime, aws:EpochTime);
    * ``source_ip`` — the client address of the connection, or the
      ``X-Forwarded-For`` entry added by a configured trusted proxy
      (aws:SourceIp); with ``networks`` (the operator's named CIDR sets,
      ``networks.Networks``) this also gives aws:SourceVpc/aws:SourceVpce;
    * ``secure_transport`` — whether the request came over TLS, at sealbox
      or at a trusted proxy (aws:SecureTransport), and ``tls_version`` as
      ``"1.2"``/``"1.3"`` (s3:TlsVersion; None over plain HTTP);
    * ``referer``, ``user_agent`` — the ``Referer`` and ``User-Agent``
      headers as sent (aws:Referer, aws:UserAgent);
    * ``auth_type`` — ``AuthResult.auth_type`` (s3:authType: REST-HEADER,
      REST-QUERY-STRING, POST); ``signature_version`` — ``"AWS4-HMAC-SHA256"``
      for SigV4, ``"AWS"`` for SigV2 (s3:signatureversion); ``signed_at`` —
      ``AuthResult.signed_at`` (s3:signatureAge, milliseconds);
    * ``content_sha256`` — the ``x-amz-content-sha256`` header
      (s3:x-amz-content-sha256); ``acl`` — ``x-amz-acl`` (s3:x-amz-acl);
    * ``prefix``, ``delimiter``, ``max_keys`` — ListObjects(V2) query
      parameters when present, as strings, empty included (s3:prefix,
      s3:delimiter, s3:max-keys);
    * ``existing_object_tags`` — the object's tags, for object requests,
      only when some policy reads ``s3:existingobjecttag/…``
      (``Policy.condition_keys``); ``request_object_tags`` — tags a
      PutObject/PutObjectTagging sets (s3:RequestObjectTag/…);
    * ``source_arn`` — for requests the edge makes through origin access
      control: the distribution's ARN (aws:SourceArn), with the principal
      a ``kind="service"`` principal named ``cloudfront.amazonaws.com``.
  The principal's own keys (aws:username, aws:userid, aws:PrincipalType,
  aws:PrincipalArn, aws:PrincipalAccount) come from ``principal``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sealbox.access.acls import Grant
from sealbox.access.canonical_ids import canonical_id
from sealbox.access.context import principal_account
from sealbox.access.model import Policy, Principals, Statement
from sealbox.auth.principal import ACCOUNT_ID, Principal


class _EmptyContext(Mapping[str, Sequence[str]]):
    """A shared, immutable, hashable empty context (a dataclass default)."""

    def __getitem__(self, key: str) -> Sequence[str]:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


EMPTY_CONTEXT: Mapping[str, Sequence[str]] = _EmptyContext()

# S3: the owning account's root can always read, replace and remove the
# bucket policy, whatever it says.
_ROOT_ALWAYS = frozenset({"s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"})

Outcome = Literal["allow", "explicit_deny", "implicit_deny"]


@dataclass(frozen=True)
class AccessRequest:
    """Everything the decision depends on. ``context`` keys are in lookup
    form (lower-case names; build it with ``context.request_context``)."""

    principal: Principal
    action: str
    resource: str
    identity_policies: tuple[Policy, ...] = ()
    bucket_policy: Policy | None = None
    context: Mapping[str, Sequence[str]] = EMPTY_CONTEXT
    resource_owner: str = ACCOUNT_ID
    restrict_public_buckets: bool = False
    # The ACL grant that gives the requester this action (the gate finds it).
    acl_grant: Grant | None = None
    # The canonical id of the account that owns the object, when another
    # account than ``resource_owner`` owns it (the gate tells).
    object_owner: str | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome and what decided it (for the audit trail and the doctor).

    ``statement`` is the statement that decided and ``policy`` where it is
    (``"bucket policy"`` or ``"identity policy <name>"``); both None for an
    implicit deny and for the root's implicit allow."""

    allowed: bool
    reason: str
    statement: Statement | None = None
    policy: str | None = None

    @property
    def outcome(self) -> Outcome:
        if self.allowed:
            return "allow"
        return "explicit_deny" if self.statement is not None else "implicit_deny"


def _where(policy: Policy) -> str:
    if policy.kind == "bucket":
        return "bucket policy"
    return f"identity policy {policy.name}" if policy.name else "identity policy"


def _covers(principals: Principals, principal: Principal, account: str | None) -> bool:
    """Whether a NotPrincipal list names every identity of the request."""
    if principals.everyone:
        return True
    kind = principal.kind
    if kind == "anonymous":
        return False
    if kind == "root":
        return account in principals.accounts
    if kind == "user":
        return principal.arn in principals.users and account in principals.accounts
    return principal.name in principals.services


def _names(principals: Principals, principal: Principal, account: str | None, deny: bool) -> bool:
    """Whether a Principal element names the requester (see module doc)."""
    if principals.everyone:
        return True
    kind = principal.kind
    if kind == "anonymous":
        return False
    if kind == "user" and principal.arn in principals.users:
        return True
    if kind in ("root", "user") and account in principals.accounts:
        return kind == "root" or deny
    return kind == "service" and principal.name in principals.services


def _resource_matches(st: Statement, resource: str, context: Mapping[str, Sequence[str]]) -> bool:
    r = st.resources  # NameSet.match, inlined: this runs for every candidate statement
    hit = (
        r.any
        or resource in r.exact
        or (r.globs is not None and r.globs.match(resource))
        or (bool(r.templates) and r.match_templates(resource, context))
    )
    return hit is not st.not_resource


def _conditions_hold(st: Statement, context: Mapping[str, Sequence[str]]) -> bool:
    for condition in st.conditions:
        if not condition.holds(context):
            return False
    return True


def _without_policies(principal: Principal, owner: str) -> Decision:
    """The common case, kept cheap: no policy applies at all."""
    if principal.kind == "root" and principal_account(principal) == owner:
        return Decision(True, "the account root may do everything in its account")
    if principal.is_anonymous:
        return Decision(False, "no policy allows anonymous access")
    return Decision(False, "no policy allows this action")


_ALLOWS: dict[tuple[int, str], tuple[Statement, Decision]] = {}
_ALLOWS_KEPT = 4096


def _allowed_by(st: Statement, where: str) -> Decision:
    """The Decision an Allow makes, one per statement (decisions are
    immutable; the same statement allows many requests)."""
    key = (id(st), where)
    hit = _ALLOWS.get(key)
    if hit is not None and hit[0] is st:
        return hit[1]
    decision = Decision(True, f"allowed by {st.label} of {where}", st, where)
    if len(_ALLOWS) >= _ALLOWS_KEPT:
        _ALLOWS.clear()
    _ALLOWS[key] = (st, decision)  # holds st: its id is not reused while kept
    return decision


def evaluate(request: AccessRequest) -> Decision:
    """Decide one request; see the module docstring for the rules."""
    return evaluate_parts(request.principal, request.action, request.resource,
                          request.identity_policies, request.bucket_policy, request.context,
                          request.resource_owner, request.restrict_public_buckets,
                          request.acl_grant, request.object_owner)


def evaluate_parts(principal: Principal, action: str, resource: str,
                   identity_policies: tuple[Policy, ...], bucket_policy: Policy | None,
                   context: Mapping[str, Sequence[str]], resource_owner: str = ACCOUNT_ID,
                   restrict_public_buckets: bool = False, acl_grant: Grant | None = None,
                   object_owner: str | None = None) -> Decision:
    """``evaluate`` of an AccessRequest with these fields, without making
    one (the server's per-request path)."""
    if (bucket_policy is None and not identity_policies and acl_grant is None
            and object_owner is None):
        return _without_policies(principal, resource_owner)
    action = action.lower()
    kind = principal.kind
    account = None if kind == "anonymous" else principal_account(principal)
    if kind == "root" and action in _ROOT_ALWAYS and account == resource_owner:
        return Decision(True, "the account root may always manage the bucket policy")

    identity_allow: tuple[Statement, str] | None = None
    if kind != "anonymous":
        for policy in identity_policies:
            for st, dynamic in policy.candidates(action, resource):
                if dynamic and not _resource_matches(st, resource, context):
                    continue
                if st.effect == "Deny":
                    if _conditions_hold(st, context):
                        where = _where(policy)
                        return Decision(
                            False, f"explicitly denied by {st.label} of {where}", st, where
                        )
                elif identity_allow is None and _conditions_hold(st, context):
                    identity_allow = (st, _where(policy))

    bucket_allow: tuple[Statement, str] | None = None
    if bucket_policy is not None:
        outsider = kind == "anonymous" or (kind != "service" and account != resource_owner)
        blocked = restrict_public_buckets and outsider and bucket_policy.is_public
        for st, dynamic in bucket_policy.candidates(action, resource):
            deny = st.effect == "Deny"
            if not deny and (blocked or bucket_allow is not None):
                continue
            pr = st.principals
            if pr is None:
                continue
            if st.not_principal:
                if _covers(pr, principal, account):
                    continue
            elif not (pr.everyone or _names(pr, principal, account, deny)):
                continue
            if dynamic and not _resource_matches(st, resource, context):
                continue
            if not _conditions_hold(st, context):
                continue
            if deny:
                return Decision(
                    False, f"explicitly denied by {st.label} of bucket policy", st, "bucket policy"
                )
            bucket_allow = (st, "bucket policy")

    if object_owner is not None:
        return _object_owned_by_another(principal, object_owner, identity_allow,
                                        acl_grant)
    if kind == "root" and account == resource_owner:
        return Decision(True, "the account root may do everything in its account")
    cross_account = kind not in ("anonymous", "service") and account != resource_owner
    if cross_account:
        # Another account's principal needs its own account's Allow (a root
        # has every one) and the bucket owner's: its policy or its ACL.
        own_allow = kind == "root" or identity_allow is not None
        if own_allow and bucket_allow:
            st, where = bucket_allow
            also = f" and {identity_allow[1]}" if identity_allow else ""
            return Decision(True, f"allowed by {st.label} of {where}{also}", st, where)
        if own_allow and acl_grant is not None:
            return _acl_allowed(acl_grant)
        return Decision(
            False,
            "a principal of another account needs both its identity "
            "policy and the bucket policy or an ACL grant to allow this",
        )
    chosen = identity_allow or bucket_allow
    if chosen is not None:
        st, where = chosen
        return _allowed_by(st, where)
    if acl_grant is not None and kind != "service" and (
            kind != "user" or acl_grant.grantee_type == "Group"):
        return _acl_allowed(acl_grant)
    if kind == "anonymous":
        return Decision(False, "no policy allows anonymous access")
    return Decision(False, "no policy allows this action")


def _acl_allowed(grant: Grant) -> Decision:
    return Decision(True, f"the ACL grants {grant.permission} to {grant.grantee}")


def _object_owned_by_another(principal: Principal, object_owner: str,
                             identity_allow: tuple[Statement, str] | None,
                             acl_grant: Grant | None) -> Decision:
    """An object another account owns (ObjectWriter): its owner's principals
    as in their own account; everyone else, the bucket owner included, by
    the object's ACL (and a user by its own account's Allow too)."""
    kind = principal.kind
    own_allow = kind in ("root", "anonymous") or identity_allow is not None
    if kind in ("root", "user") and canonical_id(principal.arn) == object_owner:
        if own_allow:
            return Decision(True, "the object's owner account allows this")
        return Decision(False, "no policy of the object's owner account allows this")
    if acl_grant is not None and own_allow and kind != "service":
        return _acl_allowed(acl_grant)
    return Decision(False, "another account owns this object and its ACL grants "
                           "no such permission")
