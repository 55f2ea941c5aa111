"""The EdgeStore interface: CloudFront-compatible configuration.

Public keys, key groups, origin access controls, distributions and
invalidations, kept by the MetaStores themselves (``sql/edge.py``'s
``EdgeSqlMethods`` is a mixin of ``SqliteMetaStore`` and
``PostgresMetaStore``, written once for both): same database, same
transactions, schema version 5. Methods are synchronous and
thread-safe.

Errors are CloudFront's: one ``EdgeError`` carrying the code, the HTTP
status and the message CloudFront answers with (service-2.json of
botocore's ``cloudfront/2020-05-31`` gives the statuses), so the API layer
renders them without rewording.

ETags are CloudFront's optimistic-locking versions: every change gives the
resource a new one, and changes and deletes must name the current one
(``If-Match``): none is ``InvalidIfMatchVersion``, another is
``PreconditionFailed``.

The serving path reads: ``distribution_for_host(host)`` (one index lookup),
``Distribution.config.behavior_for(path)``, ``config.origin(id)`` and
``public_keys_for_groups(behavior.trusted_key_groups)``.

Accounts (issue 17): every public key, key group, origin access control and
distribution belongs to the account that made it (``account_id``; what
existed before accounts, to the first). The MetaStore itself sees every
account's, as the serving path must (a Host names a distribution
whatever its account); ``edge_in_account(id)`` is the same store acting in
one account, as the CloudFront API and the admin API use it: it lists,
gets, changes and deletes that account's configuration only (another's id
is answered as a missing one), makes what it creates that account's, and
lets a key group name only that account's public keys and a distribution
only its key groups and origin access controls.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.edge_config import CacheBehavior, DistributionConfig, Origin, path_matches
from sealbox.store.edge_errors import EdgeError

__all__ = [
    "CacheBehavior",
    "Distribution",
    "DistributionConfig",
    "EdgeError",
    "EdgeStore",
    "Invalidation",
    "KeyGroup",
    "Origin",
    "OriginAccessControl",
    "PublicKey",
    "path_matches",
]

def no_if_match() -> EdgeError:
    return EdgeError("InvalidIfMatchVersion", "The If-Match version is missing or not valid.")


def check_if_match(current_etag: str, if_match: str | None) -> None:
    """CloudFront's optimistic locking: ``If-Match`` must name the current ETag."""
    if not if_match:
        raise no_if_match()
    if if_match.strip().strip('"') != current_etag:
        raise EdgeError(
            "PreconditionFailed", "The precondition given in one or more of the request "
            "header fields evaluated to false."
        )


# -- ids -----------------------------------------------------------------------

_ALNUM = string.ascii_uppercase + string.digits


def _random_id(prefix: str, length: int = 14) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length - len(prefix)))


def new_public_key_id() -> str:
    """``K`` and 13 upper-case letters or digits, CloudFront's shape (K2JCJMDEHXQW5F)."""
    return _random_id("K")


def new_distribution_id() -> str:
    """``E`` and 13 upper-case letters or digits (EDFDVBD6EXAMPLE is 15; real ones 14)."""
    return _random_id("E")


def new_oac_id() -> str:
    return _random_id("E")


def new_invalidation_id() -> str:
    return _random_id("I")


def new_etag() -> str:
    """A version tag, CloudFront's shape (E2QWRUHAPOMQZL)."""
    return _random_id("E")


def new_key_group_id() -> str:
    """CloudFront's key group ids are UUIDs."""
    return str(uuid.uuid4())


def distribution_arn(distribution_id: str, account: str = ACCOUNT_ID) -> str:
    """A distribution's ARN, naming the account that owns it."""
    return f"arn:aws:cloudfront::{account}:distribution/{distribution_id}"


# -- records -------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """A public key (PEM text as given, ``encoded_key``) viewers' signatures are checked with."""

    id: str
    name: str
    encoded_key: str
    comment: str
    caller_reference: str
    created: datetime
    etag: str

    def same_config(self, other: PublicKey) -> bool:
        return (self.caller_reference, self.name, self.encoded_key, self.comment) == (
            other.caller_reference, other.name, other.encoded_key, other.comment
        )


@dataclass(frozen=True)
class KeyGroup:
    """A named set of public key ids (``items``) a cache behaviour may trust."""

    id: str
    name: str
    items: tuple[str, ...]
    comment: str
    modified: datetime
    etag: str


@dataclass(frozen=True)
class OriginAccessControl:
    """How a distribution signs its requests to its origin (``sigv4`` to ``s3``)."""

    id: str
    name: str
    description: str
    signing_protocol: str  # sigv4
    signing_behavior: str  # always | never | no-override
    origin_type: str  # s3
    etag: str


@dataclass(frozen=True)
class Distribution:
    """A distribution: its ids, its state, and its whole configuration."""

    id: str
    domain_name: str  # <id lower-case>.<edge domain>, fixed when created
    status: str  # "Deployed": changes take effect at once
    modified: datetime
    etag: str
    config: DistributionConfig
    account: str = ACCOUNT_ID  # the account that made it (the store sets it)

    @property
    def arn(self) -> str:
        """The ``AWS:SourceArn`` the origin's bucket policy sees."""
        return distribution_arn(self.id, self.account)


@dataclass(frozen=True)
class Invalidation:
    """Paths (CloudFront patterns, ``*`` only at the end) dropped from the cache."""

    id: str
    distribution_id: str
    paths: tuple[str, ...]
    caller_reference: str
    status: str  # "Completed"
    created: datetime


# -- the interface -------------------------------------------------------------


class EdgeStore(Protocol):
    """The edge's configuration; see the module docstring."""

    def edge_in_account(self, account: str) -> EdgeStore:
        """The same store acting in ``account`` only (see the module docstring)."""
        ...

    # public keys
    def create_public_key(self, key: PublicKey) -> PublicKey: ...
    def get_public_key(self, key_id: str) -> PublicKey | None: ...
    def list_public_keys(self) -> list[PublicKey]: ...
    def update_public_key(
        self, key_id: str, if_match: str | None, name: str, comment: str, etag: str,
        encoded_key: str | None = None, caller_reference: str | None = None,
    ) -> PublicKey: ...
    def delete_public_key(self, key_id: str, if_match: str | None) -> None: ...
    # key groups
    def create_key_group(self, group: KeyGroup) -> KeyGroup: ...
    def get_key_group(self, group_id: str) -> KeyGroup | None: ...
    def list_key_groups(self) -> list[KeyGroup]: ...
    def update_key_group(self, group: KeyGroup, if_match: str | None) -> KeyGroup: ...
    def delete_key_group(self, group_id: str, if_match: str | None) -> None: ...
    def public_keys_for_groups(self, group_ids: Sequence[str]) -> dict[str, PublicKey]: ...
    # origin access controls
    def create_origin_access_control(self, oac: OriginAccessControl) -> OriginAccessControl: ...
    def get_origin_access_control(self, oac_id: str) -> OriginAccessControl | None: ...
    def list_origin_access_controls(self) -> list[OriginAccessControl]: ...
    def update_origin_access_control(
        self, oac: OriginAccessControl, if_match: str | None
    ) -> OriginAccessControl: ...
    def delete_origin_access_control(self, oac_id: str, if_match: str | None) -> None: ...
    # distributions
    def create_distribution(self, dist: Distribution) -> Distribution: ...
    def get_distribution(self, distribution_id: str) -> Distribution | None: ...
    def list_distributions(self) -> list[Distribution]: ...
    def update_distribution(
        self, distribution_id: str, if_match: str | None, config: DistributionConfig,
        etag: str, modified: datetime,
    ) -> Distribution: ...
    def delete_distribution(self, distribution_id: str, if_match: str | None) -> None: ...
    def distribution_for_host(self, host: str) -> Distribution | None: ...
    # invalidations
    def create_invalidation(self, inv: Invalidation) -> Invalidation: ...
    def get_invalidation(self, distribution_id: str, invalidation_id: str) -> Invalidation | None: ...
    def list_invalidations(
        self, distribution_id: str, *, since: datetime | None = None
    ) -> list[Invalidation]: ...


def host_candidates(host: str) -> tuple[str, ...]:
    """The names a Host header may match, best first: itself (lower-case, no
    port, no trailing dot), then the wildcard alias covering it
    (``*.example.com`` for ``a.example.com``; CloudFront's wildcard CNAMEs
    cover one label)."""
    h = host.strip().lower()
    if h.startswith("["):  # an IPv6 literal never names a distribution
        return ()
    h = h.rpartition(":")[0] if ":" in h else h
    h = h.rstrip(".")
    if not h:
        return ()
    _first, dot, rest = h.partition(".")
    return (h, f"*.{rest}") if dot and rest else (h,)
