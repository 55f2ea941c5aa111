"""``sealbox rotate-secrets``: after a new key was put first in
``SEALBOX_SECRET_KEY`` on every node, re-encrypt every secret of the
metadata store under it (access keys, root credentials, the link rules'
secrets), so that the old key can then be dropped. It runs beside the
serving nodes, on the store itself (store/keyring.rotate)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def _rotate(args: argparse.Namespace) -> int:
    from sealbox.config import Settings
    from sealbox.server.asgi import open_meta
    from sealbox.store.keyring import KeyringMismatch, rotate
    from sealbox.store.secrets import cipher_source, load_cipher

    settings = Settings(data_dir=Path(args.data_dir), meta_dsn=args.meta_dsn)
    if not settings.meta_dsn and not settings.meta_path.exists():
        raise SystemExit(f"sealbox: no metadata store in {settings.data_dir} "
                         "(give --data-dir, or --meta-dsn)")
    cipher = load_cipher(settings.data_dir)
    meta = open_meta(settings, cipher)
    try:
        counts = rotate(meta, cipher, cipher_source(settings.data_dir))
    except KeyringMismatch as error:
        raise SystemExit(f"sealbox: {error}") from None
    finally:
        meta.close()
    if args.json:
        print(json.dumps({**counts, "KeyId": cipher.newest_key_id}))
    else:
        print(f"re-encrypted under key {cipher.newest_key_id}: {counts['AccessKeys']} access "
              f"keys, {counts['Settings']} server settings, {counts['KmsKeys']} KMS keys, "
              f"{counts['DataKeys']} objects' data keys")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "rotate-secrets", help="re-encrypt the store's secrets under the keyring's first key",
        description="Re-encrypt every secret in the metadata store (access keys, root "
                    "credentials, link rules' HS256 secrets, KMS keys, objects' SSE-S3 data keys) under "
                    "the first key of "
                    "SEALBOX_SECRET_KEY (else DATA_DIR/secret.key). Every key that encrypts "
                    "something must still be in the keyring; afterwards only the first is "
                    "needed. docs/several-nodes.md shows the whole rotation.")
    parser.add_argument("--data-dir", default="./sealbox-data",
                        help="the node's data dir (its SQLite metadata, or secret.key)")
    parser.add_argument("--meta-dsn", default=os.environ.get("SEALBOX_META_DSN", ""),
                        help="the PostgreSQL metadata store (default $SEALBOX_META_DSN)")
    parser.add_argument("--json", action="store_true",
                        help='print {"AccessKeys": N, "Settings": N, "KmsKeys": N, "DataKeys": N, "KeyId": ID}')
    parser.set_defaults(func=_rotate)
