"""The EdgeStore's methods, written once for SQLite and PostgreSQL: a
mixin of ``SqliteMetaStore`` and ``PostgresMetaStore``, whose dialect
(``self._d``) gives the placeholder, how times are stored, the row lock a
read-then-write takes (``FOR UPDATE`` on PostgreSQL; SQLite's writers hold
the one write lock from ``BEGIN IMMEDIATE``), and which exceptions mean a
constraint refused a row. The tables are schema version 5 (``schema.py``).

Every change is one transaction of the store's ``_write()``. Existence and
uniqueness are checked in it before writing, with the same checks
enforced by the schema (unique names and caller references, foreign keys
from key groups to their keys and from distributions to their key groups
and origin access controls), so two concurrent writers cannot both win:
the loser's constraint error is answered with the code its check would
have given.

Host lookup: ``cf_hosts`` maps each name a distribution answers on (its
domain name and its aliases, lower-case) to its id; ``distribution_for_host``
is one indexed join.

Accounts: every row of the four owned tables carries ``account_id``. The
MetaStore sees all of them (``_edge_account`` None: the serving path);
``edge_in_account`` gives a view whose every read and write adds
``account_id = ?`` (``_scope``), so another account's row is as missing as
one never made, and whose creations are its account's (``_owner``: writes
go through a view; the whole store's are the first account's). Names and
caller references are unique per account (the schema's unique keys are
``(account_id, name)``), domain names and aliases server-wide.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import lru_cache
from typing import Any

from sealbox.auth.principal import ACCOUNT_ID, account_of_arn
from sealbox.store.edge import (
    Distribution,
    DistributionConfig,
    EdgeError,
    Invalidation,
    KeyGroup,
    OriginAccessControl,
    PublicKey,
    check_if_match,
    host_candidates,
)
from sealbox.store.sql.account_view import shared_copy
from sealbox.store.sql.dialect import Dialect

_PK_COLS = "id, name, encoded_key, comment, caller_reference, created, etag"
_KG_COLS = "id, name, comment, modified, etag"
_OAC_COLS = "id, name, description, signing_protocol, signing_behavior, origin_type, etag"
_DIST_COLS = "d.id, d.domain_name, d.status, d.modified, d.etag, d.config, d.account_id"
_INV_COLS = "id, distribution_id, paths, caller_reference, status, created"


@lru_cache(maxsize=512)
def _config(text: str) -> DistributionConfig:
    """A stored config, read once per text (texts are immutable, so the
    cache never goes stale): the serving path looks distributions up per
    request. Callers must not change the shared ``document``."""
    return DistributionConfig.from_document(json.loads(text))


def _no_public_key(key_id: str) -> EdgeError:
    return EdgeError("NoSuchPublicKey", f"The specified public key does not exist: {key_id}")


def _no_key_group(group_id: str) -> EdgeError:
    return EdgeError("NoSuchResource", f"The specified key group does not exist: {group_id}")


def _no_oac(oac_id: str) -> EdgeError:
    return EdgeError("NoSuchOriginAccessControl", "The specified origin access control does not exist.")


def _no_distribution(distribution_id: str) -> EdgeError:
    return EdgeError("NoSuchDistribution", "The specified distribution does not exist.")


class EdgeSqlMethods:
    """The EdgeStore on a SQL MetaStore (``self._d`` is its dialect)."""

    _d: Dialect
    # The account this view acts in; None: every account's (the serving path).
    _edge_account: str | None = None

    def edge_in_account(self, account: str) -> Any:
        """This store acting in ``account``'s edge configuration only: the
        same connections and caches (a shallow copy)."""
        view = shared_copy(self)
        view._edge_account = account
        return view

    @property
    def _owner(self) -> str:
        """The account what this view creates belongs to."""
        return self._edge_account or ACCOUNT_ID

    def _scope(self, column: str = "account_id") -> tuple[str, tuple[Any, ...]]:
        """`` AND <column> = ?`` and its parameter in an account's view;
        nothing in the whole store's."""
        if self._edge_account is None:
            return "", ()
        return f" AND {column} = ?", (self._edge_account,)

    def _write(self) -> AbstractContextManager[Any]:  # provided by the MetaStore
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return self._d.q(sql)

    def _one(self, c: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return c.execute(self._q(sql), tuple(params)).fetchone()

    def _all(self, c: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(c.execute(self._q(sql), tuple(params)).fetchall())

    def _run(self, c: Any, sql: str, params: Sequence[Any] = ()) -> int:
        return int(c.execute(self._q(sql), tuple(params)).rowcount)

    def _fetchone(self, sql: str, params: tuple[Any, ...]) -> Any:  # provided by the MetaStore
        raise NotImplementedError

    def _read_one(self, sql: str, params: Sequence[Any]) -> Any:
        return self._fetchone(self._q(sql), tuple(params))

    def _read_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._read() as c:
            return self._all(c, sql, params)

    # -- rows --------------------------------------------------------------------
    def _public_key(self, r: Sequence[Any]) -> PublicKey:
        return PublicKey(r[0], r[1], r[2], r[3], r[4], self._d.rows.time_value(r[5]), r[6])

    def _key_group(self, c: Any, r: Sequence[Any]) -> KeyGroup:
        keys = self._all(
            c, "SELECT key_id FROM cf_key_group_keys WHERE group_id = ? ORDER BY position", (r[0],)
        )
        return KeyGroup(r[0], r[1], tuple(k for (k,) in keys), r[2], self._d.rows.time_value(r[3]), r[4])

    @staticmethod
    def _oac(r: Sequence[Any]) -> OriginAccessControl:
        return OriginAccessControl(*r)

    def _distribution(self, r: Sequence[Any]) -> Distribution:
        config = _config(r[5])
        return Distribution(r[0], r[1], r[2], self._d.rows.time_value(r[3]), r[4], config, r[6])

    def _invalidation(self, r: Sequence[Any]) -> Invalidation:
        return Invalidation(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], self._d.rows.time_value(r[5]))

    def _locked(self, c: Any, table: str, cols: str, row_id: str) -> Any:
        scope, params = self._scope()
        return self._one(c, f"SELECT {cols} FROM {table} WHERE id = ?{scope}{self._d.for_update}",
                         (row_id, *params))

    def _guarded(self, c: Any, sql: str, params: Sequence[Any], error: EdgeError) -> None:
        """Run a write a constraint may refuse (a concurrent writer won), as ``error``."""
        try:
            with self._d.guarded(c):  # PostgreSQL: a savepoint keeps the transaction usable
                self._run(c, sql, params)
        except self._d.integrity:
            raise error from None

    # -- public keys ---------------------------------------------------------------
    def create_public_key(self, key: PublicKey) -> PublicKey:
        """Save ``key``; the same caller reference with the same config returns the first one."""
        exists = EdgeError("PublicKeyAlreadyExists", "The specified public key already exists.")
        with self._write() as c:
            row = self._one(c, f"SELECT {_PK_COLS} FROM cf_public_keys WHERE caller_reference = ? "
                            "AND account_id = ?", (key.caller_reference, self._owner))
            if row is not None:
                old = self._public_key(row)
                if old.same_config(key):
                    return old
                raise exists
            if self._one(c, "SELECT 1 FROM cf_public_keys WHERE name = ? AND account_id = ?",
                         (key.name, self._owner)):
                raise exists
            self._guarded(
                c, f"INSERT INTO cf_public_keys ({_PK_COLS}, account_id) VALUES (?,?,?,?,?,?,?,?)",
                (key.id, key.name, key.encoded_key, key.comment, key.caller_reference,
                 self._d.rows.time_param(key.created), key.etag, self._owner), exists,
            )
        return key

    def get_public_key(self, key_id: str) -> PublicKey | None:
        scope, mine = self._scope()
        row = self._read_one(f"SELECT {_PK_COLS} FROM cf_public_keys WHERE id = ?{scope}",
                             (key_id, *mine))
        return None if row is None else self._public_key(row)

    def list_public_keys(self) -> list[PublicKey]:
        scope, mine = self._scope()
        rows = self._read_all(f"SELECT {_PK_COLS} FROM cf_public_keys WHERE 1 = 1{scope} "
                              "ORDER BY created, id", mine)
        return [self._public_key(r) for r in rows]

    def update_public_key(
        self, key_id: str, if_match: str | None, name: str, comment: str, etag: str,
        encoded_key: str | None = None, caller_reference: str | None = None,
    ) -> PublicKey:
        """Rename or re-comment a key; its PEM and caller reference cannot change."""
        with self._write() as c:
            row = self._locked(c, "cf_public_keys", _PK_COLS, key_id)
            if row is None:
                raise _no_public_key(key_id)
            old = self._public_key(row)
            check_if_match(old.etag, if_match)
            if (encoded_key is not None and encoded_key.strip() != old.encoded_key.strip()) or (
                caller_reference is not None and caller_reference != old.caller_reference
            ):
                raise EdgeError("CannotChangeImmutablePublicKeyFields",
                                "You can't change the value of a public key.")
            if name != old.name and self._one(
                c, "SELECT 1 FROM cf_public_keys WHERE name = ? AND account_id = ?",
                (name, self._owner),
            ):
                raise EdgeError("PublicKeyAlreadyExists", "The specified public key already exists.")
            self._guarded(c, "UPDATE cf_public_keys SET name = ?, comment = ?, etag = ? WHERE id = ?",
                          (name, comment, etag, key_id),
                          EdgeError("PublicKeyAlreadyExists", "The specified public key already exists."))
        return PublicKey(key_id, name, old.encoded_key, comment, old.caller_reference, old.created, etag)

    def _delete_unused(
        self, table: str, cols: str, row_id: str, if_match: str | None, missing: EdgeError,
        used_by: str, in_use: EdgeError,
    ) -> None:
        """Delete row ``row_id`` of ``table`` (``If-Match`` its ETag, the 7th of
        ``cols``) unless ``used_by`` (one ``?``, the id) finds it referenced."""
        with self._write() as c:
            row = self._locked(c, table, cols, row_id)
            if row is None:
                raise missing
            check_if_match(row[6], if_match)
            if self._one(c, used_by, (row_id,)):
                raise in_use
            self._guarded(c, f"DELETE FROM {table} WHERE id = ?", (row_id,), in_use)

    def delete_public_key(self, key_id: str, if_match: str | None) -> None:
        self._delete_unused(
            "cf_public_keys", _PK_COLS, key_id, if_match, _no_public_key(key_id),
            "SELECT 1 FROM cf_key_group_keys WHERE key_id = ?",
            EdgeError("PublicKeyInUse", "The specified public key is in use."),
        )

    # -- key groups ----------------------------------------------------------------
    def _save_group_keys(self, c: Any, group: KeyGroup) -> None:
        if len(set(group.items)) != len(group.items):
            raise EdgeError("InvalidArgument", "A key group lists the same public key twice.")
        for key_id in group.items:
            # Only the group's own account's keys: another's is as unknown.
            if not self._one(c, "SELECT 1 FROM cf_public_keys WHERE id = ? AND account_id = ?",
                             (key_id, self._owner)):
                raise EdgeError("InvalidArgument", f"The specified public key does not exist: {key_id}")
        self._run(c, "DELETE FROM cf_key_group_keys WHERE group_id = ?", (group.id,))
        for position, key_id in enumerate(group.items):
            self._guarded(
                c, "INSERT INTO cf_key_group_keys (group_id, key_id, position) VALUES (?,?,?)",
                (group.id, key_id, position),
                EdgeError("InvalidArgument", f"The specified public key does not exist: {key_id}"),
            )

    def create_key_group(self, group: KeyGroup) -> KeyGroup:
        exists = EdgeError("KeyGroupAlreadyExists", "A key group with this name already exists.")
        with self._write() as c:
            if self._one(c, "SELECT 1 FROM cf_key_groups WHERE name = ? AND account_id = ?",
                         (group.name, self._owner)):
                raise exists
            self._guarded(
                c, f"INSERT INTO cf_key_groups ({_KG_COLS}, account_id) VALUES (?,?,?,?,?,?)",
                (group.id, group.name, group.comment, self._d.rows.time_param(group.modified),
                 group.etag, self._owner),
                exists,
            )
            self._save_group_keys(c, group)
        return group

    def get_key_group(self, group_id: str) -> KeyGroup | None:
        scope, mine = self._scope()
        with self._read() as c:
            row = self._one(c, f"SELECT {_KG_COLS} FROM cf_key_groups WHERE id = ?{scope}",
                            (group_id, *mine))
            return None if row is None else self._key_group(c, row)

    def list_key_groups(self) -> list[KeyGroup]:
        scope, mine = self._scope()
        with self._read() as c:
            rows = self._all(c, f"SELECT {_KG_COLS} FROM cf_key_groups WHERE 1 = 1{scope} "
                             "ORDER BY modified, id", mine)
            return [self._key_group(c, r) for r in rows]

    def update_key_group(self, group: KeyGroup, if_match: str | None) -> KeyGroup:
        exists = EdgeError("KeyGroupAlreadyExists", "A key group with this name already exists.")
        with self._write() as c:
            row = self._locked(c, "cf_key_groups", _KG_COLS, group.id)
            if row is None:
                raise _no_key_group(group.id)
            check_if_match(row[4], if_match)
            if group.name != row[1] and self._one(
                c, "SELECT 1 FROM cf_key_groups WHERE name = ? AND account_id = ?",
                (group.name, self._owner),
            ):
                raise exists
            self._guarded(
                c, "UPDATE cf_key_groups SET name = ?, comment = ?, modified = ?, etag = ? WHERE id = ?",
                (group.name, group.comment, self._d.rows.time_param(group.modified), group.etag, group.id),
                exists,
            )
            self._save_group_keys(c, group)
        return group

    def delete_key_group(self, group_id: str, if_match: str | None) -> None:
        in_use = EdgeError("ResourceInUse", "Cannot delete this key group because it is in use.")
        with self._write() as c:
            row = self._locked(c, "cf_key_groups", _KG_COLS, group_id)
            if row is None:
                raise _no_key_group(group_id)
            check_if_match(row[4], if_match)
            if self._one(c, "SELECT 1 FROM cf_distribution_key_groups WHERE group_id = ?", (group_id,)):
                raise in_use
            self._run(c, "DELETE FROM cf_key_group_keys WHERE group_id = ?", (group_id,))
            self._guarded(c, "DELETE FROM cf_key_groups WHERE id = ?", (group_id,), in_use)

    def public_keys_for_groups(self, group_ids: Sequence[str]) -> dict[str, PublicKey]:
        """The public keys of the given key groups, by key id: the keys a
        behaviour trusts (``public_keys_for_groups(b.trusted_key_groups)``)."""
        if not group_ids:
            return {}
        marks = ",".join("?" * len(group_ids))
        scope, mine = self._scope("p.account_id")
        rows = self._read_all(
            f"SELECT {', '.join('p.' + c for c in _PK_COLS.split(', '))} FROM cf_key_group_keys m "
            f"JOIN cf_public_keys p ON p.id = m.key_id WHERE m.group_id IN ({marks}){scope}",
            (*group_ids, *mine),
        )
        return {r[0]: self._public_key(r) for r in rows}

    # -- origin access controls ------------------------------------------------------
    def create_origin_access_control(self, oac: OriginAccessControl) -> OriginAccessControl:
        exists = EdgeError("OriginAccessControlAlreadyExists",
                           "An origin access control with the same name already exists.")
        with self._write() as c:
            if self._one(c, "SELECT 1 FROM cf_origin_access_controls WHERE name = ? "
                         "AND account_id = ?", (oac.name, self._owner)):
                raise exists
            self._guarded(c, f"INSERT INTO cf_origin_access_controls ({_OAC_COLS}, account_id) "
                          "VALUES (?,?,?,?,?,?,?,?)",
                          (oac.id, oac.name, oac.description, oac.signing_protocol,
                           oac.signing_behavior, oac.origin_type, oac.etag, self._owner), exists)
        return oac

    def get_origin_access_control(self, oac_id: str) -> OriginAccessControl | None:
        scope, mine = self._scope()
        row = self._read_one(f"SELECT {_OAC_COLS} FROM cf_origin_access_controls WHERE id = ?{scope}",
                             (oac_id, *mine))
        return None if row is None else self._oac(row)

    def list_origin_access_controls(self) -> list[OriginAccessControl]:
        scope, mine = self._scope()
        return [self._oac(r) for r in self._read_all(
            f"SELECT {_OAC_COLS} FROM cf_origin_access_controls WHERE 1 = 1{scope} ORDER BY id",
            mine)]

    def update_origin_access_control(
        self, oac: OriginAccessControl, if_match: str | None
    ) -> OriginAccessControl:
        exists = EdgeError("OriginAccessControlAlreadyExists",
                           "An origin access control with the same name already exists.")
        with self._write() as c:
            row = self._locked(c, "cf_origin_access_controls", _OAC_COLS, oac.id)
            if row is None:
                raise _no_oac(oac.id)
            check_if_match(row[6], if_match)
            if oac.name != row[1] and self._one(
                c, "SELECT 1 FROM cf_origin_access_controls WHERE name = ? AND account_id = ?",
                (oac.name, self._owner),
            ):
                raise exists
            self._guarded(
                c, "UPDATE cf_origin_access_controls SET name = ?, description = ?, "
                "signing_protocol = ?, signing_behavior = ?, origin_type = ?, etag = ? WHERE id = ?",
                (oac.name, oac.description, oac.signing_protocol, oac.signing_behavior,
                 oac.origin_type, oac.etag, oac.id), exists,
            )
        return oac

    def delete_origin_access_control(self, oac_id: str, if_match: str | None) -> None:
        self._delete_unused(
            "cf_origin_access_controls", _OAC_COLS, oac_id, if_match, _no_oac(oac_id),
            "SELECT 1 FROM cf_distribution_oacs WHERE oac_id = ?",
            EdgeError("OriginAccessControlInUse",
                      "Cannot delete the origin access control because it's in use."),
        )

    # -- distributions -----------------------------------------------------------------
    def _check_references(self, c: Any, config: DistributionConfig) -> None:
        for bucket in sorted(config.buckets):
            if not self._one(c, "SELECT 1 FROM buckets WHERE name = ?", (bucket,)):
                raise EdgeError("InvalidOrigin",
                                f"The specified origin server does not exist or is not valid: {bucket}")
        logging = config.logging
        if logging is not None:
            row = self._one(c, "SELECT owner FROM buckets WHERE name = ?", (logging.bucket,))
            if row is None:
                # CloudFront's answer to a log bucket that does not exist.
                raise EdgeError("InvalidArgument", "The S3 bucket that you specified for "
                                f"CloudFront logs does not exist: {logging.bucket}.s3.amazonaws.com")
            if (account_of_arn(str(row[0])) or ACCOUNT_ID) != self._owner:
                # Logs are written into the bucket as the server: only into
                # the distribution's own account's (AWS asks for the bucket's
                # ACL, which another account's bucket does not grant).
                raise EdgeError("InvalidArgument", "The S3 bucket that you specified for "
                                "CloudFront logs does not belong to your account: "
                                f"{logging.bucket}.s3.amazonaws.com")
        # Key groups and origin access controls of the distribution's own
        # account only: another account's are as unknown.
        for gid in sorted(config.key_group_ids):
            if not self._one(c, "SELECT 1 FROM cf_key_groups WHERE id = ? AND account_id = ?",
                             (gid, self._owner)):
                raise EdgeError("TrustedKeyGroupDoesNotExist",
                                f"One or more of your trusted key groups do not exist: {gid}")
        for oid in sorted(config.oac_ids):
            if not self._one(c, "SELECT 1 FROM cf_origin_access_controls WHERE id = ? "
                             "AND account_id = ?", (oid, self._owner)):
                raise _no_oac(oid)

    def _save_references(self, c: Any, dist_id: str, domain: str, config: DistributionConfig) -> None:
        cname = EdgeError("CNAMEAlreadyExists",
                          "One or more of the CNAMEs you provided are already associated "
                          "with a different resource.")
        self._run(c, "DELETE FROM cf_hosts WHERE distribution_id = ?", (dist_id,))
        self._run(c, "DELETE FROM cf_distribution_key_groups WHERE distribution_id = ?", (dist_id,))
        self._run(c, "DELETE FROM cf_distribution_oacs WHERE distribution_id = ?", (dist_id,))
        for host in (domain.lower(), *config.aliases):
            if self._one(c, "SELECT 1 FROM cf_hosts WHERE host = ?", (host,)):
                raise cname
            self._guarded(c, "INSERT INTO cf_hosts (host, distribution_id) VALUES (?,?)",
                          (host, dist_id), cname)
        gone = EdgeError("TrustedKeyGroupDoesNotExist", "One or more of your trusted key groups do not exist.")
        for gid in sorted(config.key_group_ids):
            self._guarded(c, "INSERT INTO cf_distribution_key_groups (distribution_id, group_id) "
                          "VALUES (?,?)", (dist_id, gid), gone)
        for oid in sorted(config.oac_ids):
            self._guarded(c, "INSERT INTO cf_distribution_oacs (distribution_id, oac_id) VALUES (?,?)",
                          (dist_id, oid), _no_oac(oid))

    def create_distribution(self, dist: Distribution) -> Distribution:
        """Save a new distribution; its buckets, key groups and origin access
        controls must exist, its aliases be free. The same caller reference
        with the same config returns the first distribution."""
        config = dist.config
        doc = json.dumps(config.document, separators=(",", ":"))
        exists = EdgeError("DistributionAlreadyExists",
                           "The caller reference you attempted to create the distribution with "
                           "is associated with another distribution.")
        with self._write() as c:
            row = self._one(c, f"SELECT {_DIST_COLS} FROM cf_distributions d "
                            "WHERE d.caller_reference = ? AND d.account_id = ?",
                            (config.caller_reference, self._owner))
            if row is not None:
                if json.loads(row[5]) == json.loads(doc):
                    return self._distribution(row)
                raise exists
            self._check_references(c, config)
            self._guarded(
                c, "INSERT INTO cf_distributions (id, domain_name, caller_reference, status, "
                "modified, etag, config, account_id) VALUES (?,?,?,?,?,?,?,?)",
                (dist.id, dist.domain_name, config.caller_reference, dist.status,
                 self._d.rows.time_param(dist.modified), dist.etag, doc, self._owner), exists,
            )
            self._save_references(c, dist.id, dist.domain_name, config)
        return Distribution(dist.id, dist.domain_name, dist.status, dist.modified, dist.etag,
                            config, self._owner)

    def get_distribution(self, distribution_id: str) -> Distribution | None:
        scope, mine = self._scope("d.account_id")
        row = self._read_one(f"SELECT {_DIST_COLS} FROM cf_distributions d WHERE d.id = ?{scope}",
                             (distribution_id, *mine))
        return None if row is None else self._distribution(row)

    def list_distributions(self) -> list[Distribution]:
        scope, mine = self._scope("d.account_id")
        rows = self._read_all(f"SELECT {_DIST_COLS} FROM cf_distributions d WHERE 1 = 1{scope} "
                              "ORDER BY d.id", mine)
        return [self._distribution(r) for r in rows]

    def distribution_for_host(self, host: str) -> Distribution | None:
        """The distribution answering on ``host`` (a Host header: case and a
        port are ignored; an alias ``*.example.com`` covers ``a.example.com``
        when no distribution names it exactly). One indexed lookup."""
        names = host_candidates(host)
        if not names:
            return None
        marks = ",".join("?" * len(names))
        rows = self._read_all(
            f"SELECT h.host, {_DIST_COLS} FROM cf_hosts h JOIN cf_distributions d "
            f"ON d.id = h.distribution_id WHERE h.host IN ({marks})",
            names,
        )
        if not rows:
            return None
        best = min(rows, key=lambda r: names.index(r[0]))
        return self._distribution(best[1:])

    def update_distribution(
        self, distribution_id: str, if_match: str | None, config: DistributionConfig,
        etag: str, modified: datetime,
    ) -> Distribution:
        """Replace a distribution's config (``If-Match`` its ETag); its caller
        reference cannot change."""
        doc = json.dumps(config.document, separators=(",", ":"))
        scope, mine = self._scope("d.account_id")
        with self._write() as c:
            row = self._one(
                c, f"SELECT {_DIST_COLS} FROM cf_distributions d WHERE d.id = ?{scope}"
                f"{self._d.for_update}", (distribution_id, *mine),
            )
            if row is None:
                raise _no_distribution(distribution_id)
            check_if_match(row[4], if_match)
            old = self._distribution(row)
            if config.caller_reference != old.config.caller_reference:
                raise EdgeError("IllegalUpdate", "The update contains modifications that are not "
                                "allowed: CallerReference cannot change.")
            self._check_references(c, config)
            self._run(c, "UPDATE cf_distributions SET modified = ?, etag = ?, config = ? WHERE id = ?",
                      (self._d.rows.time_param(modified), etag, doc, distribution_id))
            self._save_references(c, distribution_id, old.domain_name, config)
        return Distribution(distribution_id, old.domain_name, old.status, modified, etag, config,
                            old.account)

    def delete_distribution(self, distribution_id: str, if_match: str | None) -> None:
        """Delete a disabled distribution (``If-Match`` its ETag), and its invalidations."""
        scope, mine = self._scope("d.account_id")
        with self._write() as c:
            row = self._one(
                c, f"SELECT {_DIST_COLS} FROM cf_distributions d WHERE d.id = ?{scope}"
                f"{self._d.for_update}", (distribution_id, *mine),
            )
            if row is None:
                raise _no_distribution(distribution_id)
            check_if_match(row[4], if_match)
            if self._distribution(row).config.enabled:
                raise EdgeError("DistributionNotDisabled",
                                "The distribution you are trying to delete has not been disabled.")
            for table in ("cf_hosts", "cf_distribution_key_groups", "cf_distribution_oacs",
                          "cf_invalidations"):
                self._run(c, f"DELETE FROM {table} WHERE distribution_id = ?", (distribution_id,))
            self._run(c, "DELETE FROM cf_distributions WHERE id = ?", (distribution_id,))

    # -- invalidations -----------------------------------------------------------------
    def create_invalidation(self, inv: Invalidation) -> Invalidation:
        """Record an invalidation (the cache acts on it); the same caller
        reference with the same paths returns the first one."""
        exists = EdgeError("InvalidationBatchAlreadyExists",
                           "An invalidation batch with this caller reference already exists.")
        scope, mine = self._scope()
        with self._write() as c:
            if not self._one(c, f"SELECT 1 FROM cf_distributions WHERE id = ?{scope}"
                             f"{self._d.for_update}", (inv.distribution_id, *mine)):
                raise _no_distribution(inv.distribution_id)
            row = self._one(c, f"SELECT {_INV_COLS} FROM cf_invalidations "
                            "WHERE distribution_id = ? AND caller_reference = ?",
                            (inv.distribution_id, inv.caller_reference))
            if row is not None:
                old = self._invalidation(row)
                if old.paths == inv.paths:
                    return old
                raise exists
            self._guarded(
                c, f"INSERT INTO cf_invalidations ({_INV_COLS}) VALUES (?,?,?,?,?,?)",
                (inv.id, inv.distribution_id, json.dumps(list(inv.paths)), inv.caller_reference,
                 inv.status, self._d.rows.time_param(inv.created)), exists,
            )
        return inv

    def get_invalidation(self, distribution_id: str, invalidation_id: str) -> Invalidation | None:
        scope, mine = self._scope()
        row = self._read_one(f"SELECT {_INV_COLS} FROM cf_invalidations "
                             "WHERE distribution_id = ? AND id = ? AND distribution_id IN "
                             f"(SELECT id FROM cf_distributions WHERE 1 = 1{scope})",
                             (distribution_id, invalidation_id, *mine))
        return None if row is None else self._invalidation(row)

    def list_invalidations(
        self, distribution_id: str, *, since: datetime | None = None
    ) -> list[Invalidation]:
        """A distribution's invalidations, newest first; ``since``: created at or after it."""
        scope, mine = self._scope()
        sql = (f"SELECT {_INV_COLS} FROM cf_invalidations WHERE distribution_id = ? AND "
               f"distribution_id IN (SELECT id FROM cf_distributions WHERE 1 = 1{scope})")
        params: tuple[Any, ...] = (distribution_id, *mine)
        if since is not None:
            sql += " AND created >= ?"
            params += (self._d.rows.time_param(since),)
        rows = self._read_all(sql + " ORDER BY created DESC, id", params)
        return [self._invalidation(r) for r in rows]
