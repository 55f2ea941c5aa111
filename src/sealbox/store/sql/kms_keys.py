"""KMS keys (store/kms_keys.py says what they are), written once for both
MetaStores, as a mixin. Schema: the "kms keys" step of ``schema.py``.

Every method takes the account it acts in: the admin API passes the
caller's, the S3 API the account of the key a request names. A key's
material is encrypted by the keyring with the key id as its context, so
a row's material cannot be moved onto another key. Nothing is ever
deleted: a key only changes state.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sealbox.store.kms_keys import (
    DISABLED,
    ENABLED,
    MANAGED_ALIAS,
    MAX_ALIASES,
    KeyReference,
    KmsAlreadyExists,
    KmsInvalid,
    KmsKey,
    KmsNotFound,
    check_alias,
    check_description,
    new_key_id,
)
from sealbox.store.sql.identity import SqlIdentityMixin

_MATERIAL_BYTES = 32
_COLS = "key_id, account_id, region, description, state, created, material"
_BY_ID = f"SELECT {_COLS} FROM kms_keys WHERE key_id = ?"
_BY_ALIAS = (f"SELECT {', '.join('k.' + c.strip() for c in _COLS.split(','))} FROM kms_aliases a "
             "JOIN kms_keys k ON k.key_id = a.key_id WHERE a.account_id = ? AND a.alias = ?")
_ALIASES = "SELECT alias FROM kms_aliases WHERE key_id = ? ORDER BY alias"


class SqlKmsKeysMixin(SqlIdentityMixin):
    """KMS keys on a SQL MetaStore; see the module docstring."""

    def _kms_row(self, c: Any, row: tuple[Any, ...]) -> KmsKey:
        aliases = tuple(str(r[0]) for r in self._x(c, _ALIASES, (row[0],)).fetchall())
        return KmsKey(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                      self._d.rows.time_value(row[5]), aliases, bytes(row[6]))

    def create_kms_key(self, account: str, region: str, *, description: str = "",
                       aliases: tuple[str, ...] = (), now: datetime,
                       managed: bool = False) -> KmsKey:
        """A new Enabled key of ``account`` with fresh material;
        ``KmsAlreadyExists`` when an alias is taken in the account."""
        names = tuple(dict.fromkeys(check_alias(a, managed=managed) for a in aliases))
        if len(names) > MAX_ALIASES:
            raise KmsInvalid(f"A key may have at most {MAX_ALIASES} aliases")
        check_description(description)
        cipher = self._require_cipher()
        key_id = new_key_id()
        material = cipher.encrypt_bytes(os.urandom(_MATERIAL_BYTES), context=key_id.encode())
        try:
            with self._write() as c:
                for name in names:
                    if self._x(c, "SELECT 1 FROM kms_aliases WHERE account_id = ? AND alias = ?",
                               (account, name)).fetchone():
                        raise KmsAlreadyExists(f"An alias with the name {name} already exists")
                self._x(c, f"INSERT INTO kms_keys ({_COLS}) VALUES (?,?,?,?,?,?,?)",
                        (key_id, account, region, description, ENABLED,
                         self._d.rows.time_param(now), material))
                for name in names:
                    self._x(c, "INSERT INTO kms_aliases (account_id, alias, key_id) "
                            "VALUES (?,?,?)", (account, name, key_id))
        except self._d.unique_violation:
            raise KmsAlreadyExists("An alias of the key already exists") from None
        return KmsKey(key_id, account, region, description, ENABLED, self._at(now), names,
                      material)

    def list_kms_keys(self, account: str) -> list[KmsKey]:
        """The account's keys, oldest first (a few per account: no paging)."""
        with self._read() as c:
            rows = self._x(c, f"SELECT {_COLS} FROM kms_keys WHERE account_id = ? "
                           "ORDER BY created, key_id", (account,)).fetchall()
            return [self._kms_row(c, row) for row in rows]

    def find_kms_key(self, account: str, reference: KeyReference) -> KmsKey:
        """The key a reference names: by id in any account (the caller
        compares the key's account with the requester's), by alias in the
        ARN's account or else ``account``; ``KmsNotFound`` otherwise."""
        with self._read() as c:
            if reference.key_id is not None:
                row = self._x(c, _BY_ID, (reference.key_id,)).fetchone()
                if row is not None and reference.account not in (None, str(row[1])):
                    row = None
            else:
                row = self._x(c, _BY_ALIAS,
                              (reference.account or account, reference.alias)).fetchone()
            if row is None:
                shown = reference.key_id or reference.alias
                raise KmsNotFound(f"Key '{shown}' does not exist")
            return self._kms_row(c, row)

    def set_kms_key_state(self, account: str, reference: KeyReference, state: str) -> KmsKey:
        """Enable or disable one of ``account``'s keys."""
        if state not in (ENABLED, DISABLED):
            raise KmsInvalid(f"State must be {ENABLED} or {DISABLED}")
        key = self.find_kms_key(account, reference)
        if key.account_id != account:
            raise KmsNotFound(f"Key '{key.arn}' does not exist")
        with self._write() as c:
            self._x(c, "UPDATE kms_keys SET state = ? WHERE key_id = ?", (state, key.key_id))
        return KmsKey(key.key_id, key.account_id, key.region, key.description, state,
                      key.created, key.aliases, key.material)

    def managed_kms_key(self, account: str, region: str, *, now: datetime) -> KmsKey:
        """The account's ``aws/s3`` key, made on first use (two nodes that
        race: the alias's primary key keeps one, the other reads it)."""
        reference = KeyReference(None, MANAGED_ALIAS, account)
        try:
            return self.find_kms_key(account, reference)
        except KmsNotFound:
            pass
        try:
            return self.create_kms_key(account, region, aliases=(MANAGED_ALIAS,), now=now,
                                       managed=True,
                                       description="Default key that protects my S3 objects "
                                                   "when no other key is defined")
        except KmsAlreadyExists:
            return self.find_kms_key(account, reference)

    def kms_key_material(self, key: KmsKey) -> bytes:
        """The key's 32 bytes, decrypted by the keyring (``SecretError`` if
        its keyring key is gone)."""
        return self._require_cipher().decrypt_bytes(key.material, context=key.key_id.encode())

    # -- the keyring's rotation (store/keyring.py) ------------------------------------
    def kms_key_ids(self) -> set[str]:
        """The keyring keys that encrypt the KMS keys' material."""
        cipher = self._require_cipher()
        with self._read() as c:
            rows = self._x(c, "SELECT material FROM kms_keys").fetchall()
        return {cipher.key_id_of(row[0]) for row in rows}

    def reencrypt_kms_keys(self) -> int:
        """Every KMS key's material under the keyring's first key; how many
        were rewritten (objects' data keys, wrapped by the material, stay)."""
        cipher = self._require_cipher()
        done = 0
        with self._write() as c:
            rows = self._x(c, "SELECT key_id, material FROM kms_keys"
                           + self._d.for_update).fetchall()
            for key_id, blob in rows:
                if cipher.is_current(blob):
                    continue
                context = str(key_id).encode()
                fresh = cipher.encrypt_bytes(cipher.decrypt_bytes(blob, context=context),
                                             context=context)
                self._x(c, "UPDATE kms_keys SET material = ? WHERE key_id = ?", (fresh, key_id))
                done += 1
        return done
