"""Objects' data keys after a keyring rotation (store/sql/sealings.py,
store/keyring.rotate), on SQLite and PostgreSQL: every SSE-S3 sealing,
current, noncurrent and of uploads in progress, is re-wrapped under the
first key, across batch boundaries; SSE-C ones are left as they are; the
records' other columns are untouched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.store import data_keys
from sealbox.store.keyring import rotate
from sealbox.store.meta import Bucket, ObjectRecord, Segment, Upload
from sealbox.store.postgres import PostgresMetaStore
from sealbox.store.secrets import SecretCipher
from sealbox.store.sql import sealings
from sealbox.store.sqlite import SqliteMetaStore

OLD, NEW = os.urandom(32), os.urandom(32)
NOW = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "sqlite":
        yield lambda cipher: SqliteMetaStore(str(tmp_path / "meta.sqlite3"), cipher=cipher)
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        yield lambda cipher: PostgresMetaStore(dsn, cipher=cipher)


def test_rotation_rewraps_every_sse_s3_data_key_and_no_other(
        store_factory: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sealings, "BATCH", 2)  # several batches from five objects
    old_cipher = SecretCipher([OLD])
    store = store_factory(old_cipher)  # type: ignore[operator]
    store.create_bucket(Bucket("b", NOW, "us-east-1", "root"))
    keys = {}
    for n in range(5):
        keys[f"k{n}"] = data_keys.new_data_key()
        store.put_object(ObjectRecord(
            "b", f"k{n}", 3, "e", NOW, (Segment("0" * 32, 3, "00" * 8),),
            version_id=f"v{n}", sealing=data_keys.wrap_with_keyring(old_cipher, keys[f"k{n}"])))
    # k0 again: its first version becomes noncurrent, still sealed under OLD.
    newer = data_keys.new_data_key()
    store.put_object(ObjectRecord("b", "k0", 3, "e", NOW, (Segment("1" * 32, 3, "11" * 8),),
                                  version_id="v9",
                                  sealing=data_keys.wrap_with_keyring(old_cipher, newer)))
    customer = os.urandom(32)
    store.put_object(ObjectRecord("b", "c", 3, "e", NOW, (Segment("2" * 32, 3, "22" * 8),),
                                  sealing=data_keys.wrap_with_customer(customer, keys["k1"])))
    upload_key = data_keys.new_data_key()
    store.create_upload(Upload("U1", "b", "up", NOW,
                               sealing=data_keys.wrap_with_keyring(old_cipher, upload_key)))
    store.close()

    rotated = SecretCipher([NEW, OLD])
    store = store_factory(rotated)  # type: ignore[operator]
    counts = rotate(store, rotated, "test")
    assert counts["DataKeys"] == 7  # five current, one noncurrent, one upload
    assert rotate(store, rotated, "test")["DataKeys"] == 0  # nothing left under OLD
    only_new = SecretCipher([NEW])
    for n in range(1, 5):
        record = store.get_object("b", f"k{n}")
        assert data_keys.unwrap(record.sealing, only_new) == keys[f"k{n}"]
        assert record.segments == (Segment("0" * 32, 3, "00" * 8),)
    assert data_keys.unwrap(store.get_object("b", "k0").sealing, only_new) == newer
    assert data_keys.unwrap(store.get_version("b", "k0", "v0").sealing, only_new) == keys["k0"]
    assert data_keys.unwrap(store.get_upload("U1").sealing, only_new) == upload_key
    assert data_keys.unwrap(store.get_object("b", "c").sealing, only_new, customer) == keys["k1"]
    store.close()
