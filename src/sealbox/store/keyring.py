"""The keyring and the root credentials, agreed through the metadata store.

Nodes that share one metadata database (PostgreSQL) share its encrypted
secrets, so they must share the keyring that encrypts them and the root
credentials. Before a node serves (``sealbox serve``, once, before its
workers start):

- ``agree`` stores a *keyring check* (a constant sealed under the first
  key) unless one exists (the first node to start wins), then collects the
  id of every key the store's secrets are encrypted with: access keys,
  and every sealed value in a server setting. One that this node's keyring
  lacks is ``KeyringMismatch``, whose message says what to set: the node
  refuses to start, instead of answering 500 to every request that meets
  such a secret.
- ``root_credentials``: ``SEALBOX_ROOT_ACCESS_KEY`` and
  ``SEALBOX_ROOT_SECRET_KEY`` from the environment; else those sealed in
  the store; else a data dir's ``root-credentials.json`` from before
  (stored, so the other nodes get them); else new ones, stored unless
  another node stored first, and ``generated`` so that the node that made
  them prints them once (and writes them to its data dir, mode 0600, for
  ``sealbox admin --data-dir``).

Where a generated keyring lives: never in the database it protects (a dump
or a backup would then hold every secret next to its key). Without
``SEALBOX_SECRET_KEY`` a node uses ``secret.key`` in its own data dir
(0600, made on first start: store/secrets.py). The first node's key then
encrypts the store's secrets, and every other node refuses to start until
it is given that keyring in ``SEALBOX_SECRET_KEY``.

A *sealed* value is text, ``sealbox-sealed:v1:`` + the base64 of the
cipher's ciphertext, whose associated data is the name of the setting that
holds it (a value moved to another setting does not open). Being text, it
can sit inside a JSON document (the link rules' ``HS256Secret``) and still
be found for the check and for ``reseal_settings``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sealbox.config import ROOT_CREDENTIALS_FILE, RootCredentials, generate_key_pair
from sealbox.store.data_keys import rewrapped
from sealbox.store.secrets import SECRET_KEY_ENV, SecretCipher, SecretError

KEYRING_CHECK = "keyring-check"  # server settings this module owns
ROOT_CREDENTIALS = "root-credentials"
# The ids of the keyring keys that may wrap objects' SSE-S3 data keys: each
# node adds its first key's id as it starts; rotate-secrets, having
# re-wrapped them all, leaves only the first. Reading every object's record
# at each start would be too slow; this set is what stands for them.
DATA_KEY_IDS = "data-key-ids"
SEALED_PREFIX = "sealbox-sealed:v1:"
_SEALED = re.compile(re.escape(SEALED_PREFIX) + r"[A-Za-z0-9+/]+={0,2}")
_CHECK_TEXT = "sealbox keyring check"
_MIN_SEALED_BYTES = 1 + 8 + 12 + 16  # format, key id, nonce, tag (store/secrets.py)


class KeyringMismatch(Exception):
    """This node's keyring cannot read the store's secrets; the message says
    what to set, and names keys only by their public ids."""


def seal(cipher: SecretCipher, plaintext: str, setting: str) -> str:
    """``plaintext`` encrypted under the first key, as text for ``setting``."""
    blob = cipher.encrypt(plaintext, context=setting.encode())
    return SEALED_PREFIX + base64.b64encode(blob).decode()


def unseal(cipher: SecretCipher, text: str, setting: str) -> str:
    """The plaintext of a sealed value; ``SecretError`` when it does not open."""
    return cipher.decrypt(_blob(text), context=setting.encode())


def is_sealed(text: object) -> bool:
    return isinstance(text, str) and _SEALED.fullmatch(text) is not None


def _blob(text: str) -> bytes:
    if not is_sealed(text):
        return b""  # decrypt refuses it as tampered
    try:
        return base64.b64decode(text[len(SEALED_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return b""


def _sealed_key_ids(cipher: SecretCipher, document: str) -> set[str]:
    ids = set()
    for match in _SEALED.finditer(document):
        blob = _blob(match.group(0))
        if len(blob) >= _MIN_SEALED_BYTES and blob[0] == 1:  # not a look-alike
            ids.add(cipher.key_id_of(blob))
    return ids


def agree(meta: Any, cipher: SecretCipher, where: str) -> None:
    """Raise ``KeyringMismatch`` unless ``cipher`` opens every secret in the
    store (see the module docstring); ``where`` says where the keyring came
    from, for the message."""
    meta.add_server_setting(KEYRING_CHECK, seal(cipher, _CHECK_TEXT, KEYRING_CHECK))
    used = set(meta.secret_key_ids()) | meta.kms_key_ids()
    for _name, document in meta.list_server_settings():
        used |= _sealed_key_ids(cipher, document)
    used |= _data_key_ids(meta)
    missing = sorted(used - cipher.key_ids)
    if missing:
        raise KeyringMismatch(
            f"the metadata store holds secrets encrypted with key {', '.join(missing)}, "
            f"which this node's keyring ({where}: key {', '.join(sorted(cipher.key_ids))}) "
            f"does not have. Every node sharing a metadata store needs the same keyring: "
            f"set {SECRET_KEY_ENV} to the keys of the node that made them (the lines of "
            f"its data dir's secret.key, joined by commas), the encrypting key first")
    check = meta.get_server_setting(KEYRING_CHECK)
    try:
        if unseal(cipher, check or "", KEYRING_CHECK) != _CHECK_TEXT:
            raise SecretError("the keyring check holds another text")
    except SecretError as error:
        raise KeyringMismatch(f"the metadata store's keyring check does not open with "
                              f"this node's keyring ({where}): {error}") from None
    ids = _data_key_ids(meta)
    if cipher.newest_key_id not in ids:  # this node wraps new data keys with it
        meta.put_server_setting(DATA_KEY_IDS, json.dumps(sorted(ids | {cipher.newest_key_id})))


def _data_key_ids(meta: Any) -> set[str]:
    text = meta.get_server_setting(DATA_KEY_IDS)
    return set(json.loads(text)) if text else set()


def reseal_settings(meta: Any, cipher: SecretCipher) -> int:
    """Re-encrypt under the first key every sealed value of every server
    setting that is not already; the number of settings rewritten.

    A setting written by a node between this read and this write would be
    overwritten with what was read: run it while no one edits link rules.
    """
    done = 0
    for name, document in meta.list_server_settings():
        stale = [m.group(0) for m in _SEALED.finditer(document)
                 if not cipher.is_current(_blob(m.group(0)))]
        if not stale:
            continue
        meta.put_server_setting(name, _resealed(cipher, document, name))
        done += 1
    return done


def _resealed(cipher: SecretCipher, document: str, setting: str) -> str:
    return _SEALED.sub(lambda m: seal(cipher, unseal(cipher, m.group(0), setting), setting),
                       document)


def rotate(meta: Any, cipher: SecretCipher, where: str) -> dict[str, int]:
    """After a new key was put first in the keyring: every secret of the
    store re-encrypted under it (``agree`` first: all must open)."""
    agree(meta, cipher, where)
    counts = {"AccessKeys": meta.reencrypt_secrets(), "Settings": reseal_settings(meta, cipher),
              # KMS keys' material: their objects' data keys stay as they are.
              "KmsKeys": meta.reencrypt_kms_keys(),
              # Objects' SSE-S3 data keys: re-wrapped, their blobs untouched.
              "DataKeys": meta.rewrap_sealings(lambda sealing: rewrapped(sealing, cipher))}
    meta.put_server_setting(DATA_KEY_IDS, json.dumps([cipher.newest_key_id]))
    return counts


def stored_root_credentials(meta: Any, cipher: SecretCipher) -> RootCredentials | None:
    """The root credentials sealed in the store, or None."""
    text = meta.get_server_setting(ROOT_CREDENTIALS)
    if text is None:
        return None
    values = json.loads(unseal(cipher, text, ROOT_CREDENTIALS))
    return RootCredentials(values["access_key"], values["secret_key"])


def root_credentials(meta: Any, cipher: SecretCipher, data_dir: Path,
                     env: Mapping[str, str] | None = None) -> RootCredentials:
    """Root credentials as the module docstring says: the environment, the
    store, an older data dir's file, or new ones (``generated``)."""
    env = os.environ if env is None else env
    access, secret = env.get("SEALBOX_ROOT_ACCESS_KEY"), env.get("SEALBOX_ROOT_SECRET_KEY")
    if access and secret:
        return RootCredentials(access, secret)
    if access or secret:
        raise KeyringMismatch(
            "set both SEALBOX_ROOT_ACCESS_KEY and SEALBOX_ROOT_SECRET_KEY, or neither")
    stored = stored_root_credentials(meta, cipher)
    if stored is not None:
        return stored
    path = Path(data_dir) / ROOT_CREDENTIALS_FILE
    generated = not path.exists()
    if generated:
        access, secret = generate_key_pair()
    else:
        values = json.loads(path.read_text())
        access, secret = values["access_key"], values["secret_key"]
    document = json.dumps({"access_key": access, "secret_key": secret})
    if not meta.add_server_setting(ROOT_CREDENTIALS, seal(cipher, document, ROOT_CREDENTIALS)):
        # Another node stored its own first: theirs are everyone's.
        return stored_root_credentials(meta, cipher)  # type: ignore[return-value]
    if generated:
        _write_private(path, document)
    return RootCredentials(access, secret, generated=generated)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
