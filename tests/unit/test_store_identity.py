"""IdentityStore behaviour (IAM users, access keys, groups, policies), run
against SqliteMetaStore and PostgresMetaStore, which implement it.

PostgreSQL runs on the throwaway cluster of conftest.py (``postgres_dsn``:
skipped without PostgreSQL, except in CI).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sealbox.auth.principal import Credential
from sealbox.store.identity import (
    IAM_QUOTAS,
    AccessKey,
    DeleteConflict,
    EntityAlreadyExists,
    IamQuotas,
    IdentityError,
    IdentityStore,
    LimitExceeded,
    NoSecretCipher,
    NoSuchEntity,
    ValidationError,
    policy_size,
)
from sealbox.store.secrets import SecretCipher, SecretTampered, UnknownSecretKey
from sealbox.store.sqlite import SqliteMetaStore

K1, K2 = b"\x01" * 32, b"\x02" * 32
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
T0_MS = T0.replace(microsecond=123000)
ACCOUNT = "000000000000"


def doc(n: int = 0, pad: int = 0) -> str:
    """A small policy document; ``pad`` adds non-white-space characters."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"s{n}" + "x" * pad,
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                }
            ],
        }
    )


def policy_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"


# -- stores --------------------------------------------------------------------

StoreFactory = Callable[..., Any]


def _sqlite(request: pytest.FixtureRequest) -> StoreFactory:
    path = str(request.getfixturevalue("tmp_path") / "meta.db")
    return lambda cipher=None, connections=1: SqliteMetaStore(path, cipher=cipher)


def _postgres(request: pytest.FixtureRequest) -> StoreFactory:
    dsn = request.getfixturevalue("postgres_dsn")  # skips first if PostgreSQL is missing
    from sealbox.store.postgres import PostgresMetaStore

    def open_(cipher: SecretCipher | None = None, connections: int = 1) -> PostgresMetaStore:
        s = PostgresMetaStore(dsn, cipher=cipher, min_connections=connections)
        s._get_pool().wait()  # all connections open, so racing threads really race
        return s

    return open_


STORES = {"sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(params=sorted(STORES))
def open_store(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Opens stores on one database (a fresh one per test), closing them after."""
    make = STORES[request.param](request)
    opened: list[Any] = []

    def open_(cipher: SecretCipher | None = None, connections: int = 1) -> Any:
        s = make(cipher, connections)
        opened.append(s)
        return s

    open_.kind = request.param  # type: ignore[attr-defined]
    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: StoreFactory) -> IdentityStore:
    return open_store(SecretCipher([K1]))  # type: ignore[no-any-return]


def raw_secrets(store: Any) -> dict[str, bytes]:
    """The secret column as stored, by access key id."""
    sql = "SELECT access_key_id, secret FROM iam_access_keys"
    if isinstance(store, SqliteMetaStore):
        with sqlite3.connect(store.path) as conn:
            return {k: bytes(v) for k, v in conn.execute(sql)}
    import psycopg

    with psycopg.connect(store.dsn) as conn:
        return {k: bytes(v) for k, v in conn.execute(sql)}


def set_raw_secret(store: Any, key_id: str, blob: bytes) -> None:
    if isinstance(store, SqliteMetaStore):
        with sqlite3.connect(store.path) as conn:
            conn.execute(
                "UPDATE iam_access_keys SET secret = ? WHERE access_key_id = ?", (blob, key_id)
            )
        return
    import psycopg

    with psycopg.connect(store.dsn) as conn:
        conn.execute(
            "UPDATE iam_access_keys SET secret = %s WHERE access_key_id = %s", (blob, key_id)
        )


# -- users ---------------------------------------------------------------------


def test_create_user_gives_iam_ids_arn_and_millisecond_date(store: IdentityStore) -> None:
    u = store.create_user("Alice", path="/eng/team/", now=T0)
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", u.user_id)
    assert u.arn == f"arn:aws:iam::{ACCOUNT}:user/eng/team/Alice"
    assert u.created == T0_MS and u.created.utcoffset() == timedelta(0)
    assert store.get_user("Alice") == u


def test_user_names_match_regardless_of_case(store: IdentityStore) -> None:
    u = store.create_user("Alice", now=T0)
    assert store.get_user("ALICE") == u  # kept as given
    with pytest.raises(EntityAlreadyExists) as e:
        store.create_user("alice", now=T0)
    assert e.value.code == "EntityAlreadyExists" and e.value.name == "alice"
    assert str(e.value) == "User with name alice already exists."


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "é", "a/b", "a:b", "a\x00"])
def test_bad_user_names_are_validation_errors(store: IdentityStore, name: str) -> None:
    with pytest.raises(ValidationError) as e:
        store.create_user(name, now=T0)
    assert e.value.code == "ValidationError" and e.value.field_name == "userName"
    with pytest.raises(ValidationError):
        store.get_user(name)


def test_user_name_charset_and_length_limit(store: IdentityStore) -> None:
    name = "Az09_+=,.@-" + "x" * 53
    assert len(name) == 64
    assert store.create_user(name, now=T0).name == name


@pytest.mark.parametrize("path", ["", "eng", "/eng", "eng/", "/a b/", "/" + "x" * 511 + "/"])
def test_bad_paths_are_validation_errors(store: IdentityStore, path: str) -> None:
    with pytest.raises(ValidationError):
        store.create_user("u", path=path, now=T0)


def test_get_missing_user_is_no_such_entity(store: IdentityStore) -> None:
    with pytest.raises(NoSuchEntity) as e:
        store.get_user("ghost")
    assert str(e.value) == "The user with name ghost cannot be found."
    assert e.value.kind == "user" and e.value.status == 404


def test_list_users_order_path_prefix_and_paging(store: IdentityStore) -> None:
    for name, path in [("carol", "/ops/"), ("Bob", "/eng/"), ("alice", "/eng/a/"), ("dave", "/")]:
        store.create_user(name, path=path, now=T0)
    assert [u.name for u in store.list_users()] == ["alice", "Bob", "carol", "dave"]
    assert [u.name for u in store.list_users(path_prefix="/eng/")] == ["alice", "Bob"]
    assert [u.name for u in store.list_users(path_prefix="/eng/a")] == ["alice"]
    page = store.list_users(limit=2)
    assert [u.name for u in page] == ["alice", "Bob"]
    assert [u.name for u in store.list_users(after=page[-1].name)] == ["carol", "dave"]
    assert store.list_users(limit=0) == []


def test_delete_user(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.delete_user("U")
    with pytest.raises(NoSuchEntity):
        store.get_user("u")
    with pytest.raises(NoSuchEntity):
        store.delete_user("u")
    store.create_user("u", now=T0)  # the name is free again, with a new id


@pytest.mark.parametrize(
    "blocker, make, undo",
    [
        (
            "delete access keys",
            lambda s: s.create_access_key("u", now=T0).access_key_id,
            lambda s, k: s.delete_access_key("u", k),
        ),
        (
            "delete policies",
            lambda s: s.put_user_policy("u", "p", doc()),
            lambda s, _: s.delete_user_policy("u", "p"),
        ),
        (
            "detach all policies",
            lambda s: s.attach_user_policy("u", s.create_policy("mp", doc(), now=T0).arn),
            lambda s, _: s.detach_user_policy("u", policy_arn("mp")),
        ),
        (
            "remove user from all groups",
            lambda s: (s.create_group("g", now=T0), s.add_user_to_group("g", "u")),
            lambda s, _: s.remove_user_from_group("g", "u"),
        ),
    ],
)
def test_delete_user_with_dependents_is_delete_conflict(
    store: IdentityStore, blocker: str, make: Any, undo: Any
) -> None:
    store.create_user("u", now=T0)
    made = make(store)
    with pytest.raises(DeleteConflict) as e:
        store.delete_user("u")
    assert e.value.blockers == (blocker,)
    assert str(e.value) == f"Cannot delete entity, must {blocker} first."
    store.get_user("u")  # still there
    undo(store, made)
    store.delete_user("u")


def test_delete_conflict_lists_every_blocker(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.create_access_key("u", now=T0)
    store.create_group("g", now=T0)
    store.add_user_to_group("g", "u")
    with pytest.raises(DeleteConflict) as e:
        store.delete_user("u")
    assert e.value.blockers == ("delete access keys", "remove user from all groups")


def test_users_per_account_quota(store: Any) -> None:
    store.iam_quotas = IamQuotas(users_per_account=2)
    store.create_user("a", now=T0)
    store.create_user("b", now=T0)
    with pytest.raises(LimitExceeded) as e:
        store.create_user("c", now=T0)
    assert str(e.value) == "Cannot exceed quota for UsersPerAccount: 2"
    assert IAM_QUOTAS.users_per_account == 5000


RACERS = 8


@pytest.fixture
def racing_store(open_store: StoreFactory) -> IdentityStore:
    """A store with a connection ready for each racing thread."""
    return open_store(SecretCipher([K1]), connections=RACERS)  # type: ignore[no-any-return]


def test_concurrent_creation_of_one_user_has_one_winner(racing_store: IdentityStore) -> None:
    store, n = racing_store, RACERS
    barrier = threading.Barrier(n)
    won: list[str] = []
    lost: list[Exception] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            won.append(store.create_user("racer" if i % 2 else "RACER", now=T0).user_id)
        except EntityAlreadyExists as e:
            lost.append(e)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == n - 1
    assert store.get_user("racer").user_id == won[0]
    assert len(store.list_users()) == 1


# -- access keys ---------------------------------------------------------------


def test_create_access_key_returns_the_secret_once(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    k = store.create_access_key("u", now=T0)
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", k.access_key_id)
    assert k.secret_key is not None and re.fullmatch(r"[A-Za-z0-9+/]{40}", k.secret_key)
    assert (k.user_name, k.status, k.created) == ("u", "Active", T0_MS)
    listed = store.list_access_keys("u")
    assert listed == [k]  # the secret is not compared ...
    assert listed[0].secret_key is None  # ... and not returned again


def test_credential_for_gives_secret_principal_and_status(store: IdentityStore) -> None:
    store.create_user("Alice", path="/eng/", now=T0)
    k = store.create_access_key("alice", now=T0)
    cred = store.credential_for(k.access_key_id)
    assert isinstance(cred, Credential)
    assert (cred.access_key, cred.secret_key, cred.active) == (k.access_key_id, k.secret_key, True)
    p = cred.principal
    assert (p.kind, p.name, p.access_key) == ("user", "Alice", k.access_key_id)
    assert p.arn == f"arn:aws:iam::{ACCOUNT}:user/eng/Alice"


def test_disabled_key_gives_an_inactive_credential(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    k = store.create_access_key("u", now=T0)
    store.update_access_key("u", k.access_key_id, "Inactive")
    assert [x.status for x in store.list_access_keys("u")] == ["Inactive"]
    cred = store.credential_for(k.access_key_id)
    assert cred is not None and cred.active is False and cred.secret_key == k.secret_key
    store.update_access_key("u", k.access_key_id, "Active")
    cred = store.credential_for(k.access_key_id)
    assert cred is not None and cred.active


def test_bad_status_is_a_validation_error(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    k = store.create_access_key("u", now=T0)
    with pytest.raises(ValidationError):
        store.update_access_key("u", k.access_key_id, "active")  # type: ignore[arg-type]


def test_unknown_keys(store: IdentityStore) -> None:
    assert store.credential_for("AKIA0000000000000000") is None
    assert store.credential_for("AKIA\x00") is None
    assert store.credential_for("") is None


def test_delete_access_key(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    k = store.create_access_key("u", now=T0)
    store.delete_access_key("U", k.access_key_id)
    assert store.credential_for(k.access_key_id) is None
    assert store.list_access_keys("u") == []
    with pytest.raises(NoSuchEntity) as e:
        store.delete_access_key("u", k.access_key_id)
    assert str(e.value) == f"The Access Key with id {k.access_key_id} cannot be found."


def test_key_of_another_user_is_no_such_entity(store: IdentityStore) -> None:
    store.create_user("a", now=T0)
    store.create_user("b", now=T0)
    k = store.create_access_key("a", now=T0)
    for call in (
        lambda: store.update_access_key("b", k.access_key_id, "Inactive"),
        lambda: store.delete_access_key("b", k.access_key_id),
        lambda: store.delete_access_key(None, k.access_key_id),  # root's keys only
        lambda: store.delete_access_key("a", "AKIA\x00"),
    ):
        with pytest.raises(NoSuchEntity):
            call()
    cred = store.credential_for(k.access_key_id)
    assert cred is not None and cred.active


def test_access_keys_of_a_missing_user(store: IdentityStore) -> None:
    with pytest.raises(NoSuchEntity):
        store.create_access_key("ghost", now=T0)
    with pytest.raises(NoSuchEntity):
        store.list_access_keys("ghost")


def test_two_access_keys_per_user(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    a = store.create_access_key("u", now=T0)
    b = store.create_access_key("u", now=T0 + timedelta(seconds=1))
    with pytest.raises(LimitExceeded) as e:
        store.create_access_key("u", now=T0)
    assert e.value.code == "LimitExceeded" and e.value.limit == 2
    assert str(e.value) == "Cannot exceed quota for AccessKeysPerUser: 2"
    assert [k.access_key_id for k in store.list_access_keys("u")] == [
        a.access_key_id,
        b.access_key_id,
    ]
    store.update_access_key("u", a.access_key_id, "Inactive")  # inactive keys still count
    with pytest.raises(LimitExceeded):
        store.create_access_key("u", now=T0)
    store.delete_access_key("u", a.access_key_id)
    store.create_access_key("u", now=T0)


def test_concurrent_key_creation_respects_the_limit(racing_store: IdentityStore) -> None:
    store, n = racing_store, RACERS
    store.create_user("u", now=T0)
    barrier = threading.Barrier(n)
    made: list[AccessKey] = []
    refused: list[LimitExceeded] = []

    def create() -> None:
        barrier.wait()
        try:
            made.append(store.create_access_key("u", now=T0))
        except LimitExceeded as e:
            refused.append(e)

    threads = [threading.Thread(target=create) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and len(refused) == n - 2
    assert len(store.list_access_keys("u")) == 2


def test_root_user_keys(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    user_key = store.create_access_key("u", now=T0)
    k = store.create_access_key(None, now=T0)
    assert k.user_name is None
    cred = store.credential_for(k.access_key_id)
    assert cred is not None and cred.principal.kind == "root"
    assert cred.principal.arn == f"arn:aws:iam::{ACCOUNT}:root"
    assert store.list_access_keys(None) == [k]
    assert store.list_access_keys("u") == [user_key]
    store.create_access_key(None, now=T0)
    with pytest.raises(LimitExceeded):
        store.create_access_key(None, now=T0)
    store.update_access_key(None, k.access_key_id, "Inactive")
    store.delete_access_key(None, k.access_key_id)
    assert len(store.list_access_keys(None)) == 1


def test_store_without_cipher_refuses_secrets_only(open_store: StoreFactory) -> None:
    s = open_store(None)
    s.create_user("u", now=T0)  # users, groups and policies need no secret
    with pytest.raises(NoSecretCipher, match="cipher"):
        s.create_access_key("u", now=T0)
    with pytest.raises(NoSecretCipher):
        s.credential_for("AKIA0000000000000000")
    with pytest.raises(NoSecretCipher):
        s.reencrypt_secrets()


# -- secrets at rest -------------------------------------------------------------


def _all_values(store: IdentityStore, key: AccessKey) -> list[Any]:
    """Every kind of value the store returns, for a user holding ``key``."""
    arn = store.list_attached_user_policies("u")[0].policy_arn
    return [
        key,
        store.list_access_keys("u"),
        store.credential_for(key.access_key_id),
        store.get_user("u"),
        store.list_users(),
        store.list_groups_for_user("u"),
        store.list_group_users("g"),
        store.get_policy(arn),
        store.list_policies(),
        store.policies_for_user("u"),
        store.list_user_policies("u"),
        store,
    ]


def _texts(value: Any) -> list[str]:
    out = [repr(value), str(value), format(value)]
    if isinstance(value, list | tuple):
        for v in value:
            out += _texts(v)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            if f.name != "secret_key":
                out += _texts(getattr(value, f.name))
    return out


def test_secret_appears_in_no_repr_or_str(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.create_group("g", now=T0)
    store.add_user_to_group("g", "u")
    store.put_user_policy("u", "p", doc())
    store.attach_user_policy("u", store.create_policy("mp", doc(), now=T0).arn)
    key = store.create_access_key("u", now=T0)
    assert key.secret_key
    for value in _all_values(store, key):
        for text in _texts(value):
            assert key.secret_key not in text, text


def test_stored_secret_is_ciphertext(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    key = store.create_access_key("u", now=T0)
    assert key.secret_key
    blob = raw_secrets(store)[key.access_key_id]
    assert key.secret_key.encode() not in blob
    assert key.secret_key.encode()[:10] not in blob
    assert len(blob) == 1 + 8 + 12 + 40 + 16


def test_secret_moved_to_another_key_does_not_decrypt(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    a = store.create_access_key("u", now=T0)
    b = store.create_access_key("u", now=T0)
    set_raw_secret(store, b.access_key_id, raw_secrets(store)[a.access_key_id])
    with pytest.raises(SecretTampered) as e:
        store.credential_for(b.access_key_id)
    assert a.secret_key not in str(e.value)


def test_encryption_key_rotation(open_store: StoreFactory) -> None:
    old = open_store(SecretCipher([K1]))
    old.create_user("u", now=T0)
    k = old.create_access_key("u", now=T0)
    root = old.create_access_key(None, now=T0)
    blob_before = raw_secrets(old)[k.access_key_id]

    rotating = open_store(SecretCipher([K2, K1]))  # the new key first, the old still known
    cred = rotating.credential_for(k.access_key_id)
    assert cred is not None and cred.secret_key == k.secret_key
    fresh = rotating.create_access_key(None, now=T0)
    assert raw_secrets(rotating)[fresh.access_key_id][1:9] == bytes.fromhex(
        SecretCipher([K2]).newest_key_id
    )
    assert rotating.reencrypt_secrets() == 2  # k and root; fresh is current already
    assert rotating.reencrypt_secrets() == 0
    assert raw_secrets(rotating)[k.access_key_id] != blob_before

    new_only = open_store(SecretCipher([K2]))  # the old key retired
    for key in (k, root, fresh):
        cred = new_only.credential_for(key.access_key_id)
        assert cred is not None and cred.secret_key == key.secret_key
    with pytest.raises(UnknownSecretKey):
        open_store(SecretCipher([K1])).credential_for(k.access_key_id)


# -- groups --------------------------------------------------------------------


def test_group_round_trip(store: IdentityStore) -> None:
    g = store.create_group("Devs", path="/eng/", now=T0)
    assert re.fullmatch(r"AGPA[A-Z0-9]{17}", g.group_id)
    assert g.arn == f"arn:aws:iam::{ACCOUNT}:group/eng/Devs"
    assert store.get_group("devs") == g
    with pytest.raises(EntityAlreadyExists) as e:
        store.create_group("DEVS", now=T0)
    assert str(e.value) == "Group with name DEVS already exists."
    store.create_group("admins", now=T0)
    assert [x.name for x in store.list_groups()] == ["admins", "Devs"]
    assert [x.name for x in store.list_groups(path_prefix="/eng/")] == ["Devs"]
    assert [x.name for x in store.list_groups(after="admins")] == ["Devs"]
    store.delete_group("Devs")
    with pytest.raises(NoSuchEntity) as e2:
        store.get_group("Devs")
    assert str(e2.value) == "The group with name Devs cannot be found."
    with pytest.raises(NoSuchEntity):
        store.delete_group("Devs")


def test_group_name_limits(store: IdentityStore) -> None:
    store.create_group("g" * 128, now=T0)
    with pytest.raises(ValidationError):
        store.create_group("g" * 129, now=T0)


def test_membership(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.create_user("v", now=T0)
    store.create_group("b", now=T0)
    store.create_group("a", now=T0)
    store.add_user_to_group("b", "u")
    store.add_user_to_group("a", "U")
    store.add_user_to_group("a", "u")  # idempotent, as in IAM
    store.add_user_to_group("a", "v")
    assert [g.name for g in store.list_groups_for_user("u")] == ["a", "b"]
    assert [u.name for u in store.list_group_users("a")] == ["u", "v"]
    store.remove_user_from_group("a", "u")
    assert [g.name for g in store.list_groups_for_user("u")] == ["b"]
    with pytest.raises(NoSuchEntity):
        store.remove_user_from_group("a", "u")
    with pytest.raises(NoSuchEntity):
        store.add_user_to_group("ghost", "u")
    with pytest.raises(NoSuchEntity):
        store.add_user_to_group("a", "ghost")
    with pytest.raises(NoSuchEntity):
        store.list_groups_for_user("ghost")
    with pytest.raises(NoSuchEntity):
        store.list_group_users("ghost")


def test_ten_groups_per_user(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    for i in range(11):
        store.create_group(f"g{i}", now=T0)
    for i in range(10):
        store.add_user_to_group(f"g{i}", "u")
    with pytest.raises(LimitExceeded) as e:
        store.add_user_to_group("g10", "u")
    assert str(e.value) == "Cannot exceed quota for GroupsPerUser: 10"
    store.add_user_to_group("g0", "u")  # already a member: no new membership


def test_groups_per_account_quota(store: Any) -> None:
    store.iam_quotas = IamQuotas(groups_per_account=1)
    store.create_group("a", now=T0)
    with pytest.raises(LimitExceeded):
        store.create_group("b", now=T0)


@pytest.mark.parametrize(
    "blocker, make",
    [
        (
            "remove users from group",
            lambda s: (s.create_user("u", now=T0), s.add_user_to_group("g", "u")),
        ),
        ("delete policies", lambda s: s.put_group_policy("g", "p", doc())),
        (
            "detach all policies",
            lambda s: s.attach_group_policy("g", s.create_policy("mp", doc(), now=T0).arn),
        ),
    ],
)
def test_delete_group_with_dependents_is_delete_conflict(
    store: IdentityStore, blocker: str, make: Any
) -> None:
    store.create_group("g", now=T0)
    make(store)
    with pytest.raises(DeleteConflict) as e:
        store.delete_group("g")
    assert e.value.blockers == (blocker,)
    store.get_group("g")


# -- inline policies -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["user", "group"])
def test_inline_policies(store: Any, kind: str) -> None:
    getattr(store, f"create_{kind}")("o", now=T0)
    put, get = getattr(store, f"put_{kind}_policy"), getattr(store, f"get_{kind}_policy")
    lst, delete = getattr(store, f"list_{kind}_policies"), getattr(store, f"delete_{kind}_policy")
    put("o", "b", doc(1))
    put("O", "a", doc(2))
    put("o", "b", doc(3))  # replaces
    assert lst("o") == ["a", "b"]
    assert get("o", "b") == doc(3)
    delete("o", "b")
    assert lst("o") == ["a"]
    with pytest.raises(NoSuchEntity) as e:
        get("o", "b")
    assert str(e.value) == f"The {kind} policy with name b cannot be found."
    with pytest.raises(NoSuchEntity):
        delete("o", "b")
    with pytest.raises(NoSuchEntity):
        put("ghost", "a", doc())
    with pytest.raises(NoSuchEntity):
        lst("ghost")
    with pytest.raises(ValidationError):
        put("o", "bad name", doc())
    with pytest.raises(ValidationError):
        put("o", "p", "{\x00}")
    with pytest.raises(ValidationError):
        put("o", "p", '{"a": "\u0100"}')  # past U+00FF
    with pytest.raises(ValidationError):
        put("o", "p", "")


@pytest.mark.parametrize("kind, quota", [("user", 2048), ("group", 5120)])
def test_inline_policy_size_is_per_owner_and_ignores_white_space(
    store: Any, kind: str, quota: int
) -> None:
    getattr(store, f"create_{kind}")("o", now=T0)
    put = getattr(store, f"put_{kind}_policy")
    half = doc(0, pad=quota // 2 - policy_size(doc(0)))
    assert policy_size(half) == quota // 2
    put("o", "a", half)
    put("o", "b", half.replace(" ", "       ") + "\n" * 5000)  # white space is free
    put("o", "b", half)  # replacing b does not count its old text
    with pytest.raises(LimitExceeded) as e:
        put("o", "c", "{}")
    assert str(e.value) == f"Maximum policy size of {quota} bytes exceeded for {kind} o"
    assert getattr(store, f"list_{kind}_policies")("o") == ["a", "b"]


# -- managed policies --------------------------------------------------------------


def test_managed_policy_round_trip(store: IdentityStore) -> None:
    p = store.create_policy("ReadOnly", doc(), path="/team/", description="read", now=T0)
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", p.policy_id)
    assert p.arn == policy_arn("ReadOnly", "/team/")
    assert (p.default_version_id, p.attachment_count, p.created, p.updated) == (
        "v1",
        0,
        T0_MS,
        T0_MS,
    )
    assert store.get_policy(p.arn) == p
    assert (p.document, p.description) == (doc(), "read")


def test_managed_policy_names_are_unique_in_the_account(store: IdentityStore) -> None:
    store.create_policy("P", doc(), path="/a/", now=T0)
    with pytest.raises(EntityAlreadyExists) as e:
        store.create_policy("p", doc(), path="/b/", now=T0)
    assert str(e.value) == "A policy called p already exists. Duplicate names are not allowed."


@pytest.mark.parametrize(
    "arn",
    [
        policy_arn("P", "/b/"),
        policy_arn("p", "/a/"),
        "arn:aws:iam::aws:policy/P",
        "arn:aws:iam::111111111111:policy/a/P",
        "P",
        "",
        policy_arn("P\x00", "/a/"),
    ],
)
def test_get_policy_by_other_arns_is_no_such_entity(store: IdentityStore, arn: str) -> None:
    store.create_policy("P", doc(), path="/a/", now=T0)
    with pytest.raises(NoSuchEntity) as e:
        store.get_policy(arn)
    assert str(e.value) == f"Policy {arn} was not found."


def test_managed_policy_limits(store: Any) -> None:
    big = doc(0, pad=6144 - policy_size(doc(0)))
    store.create_policy("max", big + "   \n", now=T0)
    with pytest.raises(LimitExceeded) as e:
        store.create_policy("over", big + "x", now=T0)
    assert str(e.value) == "Cannot exceed quota for PolicySize: 6144"
    with pytest.raises(ValidationError):
        store.create_policy("d", doc(), description="x" * 1001, now=T0)
    with pytest.raises(ValidationError):
        store.create_policy("n" * 129, doc(), now=T0)
    store.iam_quotas = IamQuotas(policies_per_account=1)
    with pytest.raises(LimitExceeded):
        store.create_policy("second", doc(), now=T0)


def test_list_policies(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    for name, path in [("c", "/x/"), ("B", "/"), ("a", "/x/y/")]:
        store.create_policy(name, doc(), path=path, now=T0)
    assert [p.name for p in store.list_policies()] == ["a", "B", "c"]
    assert [p.name for p in store.list_policies(path_prefix="/x/")] == ["a", "c"]
    assert [p.name for p in store.list_policies(after="a", limit=1)] == ["B"]
    store.attach_user_policy("u", policy_arn("c", "/x/"))
    assert [(p.name, p.attachment_count) for p in store.list_policies(only_attached=True)] == [
        ("c", 1)
    ]


@pytest.mark.parametrize("kind", ["user", "group"])
def test_attachments(store: Any, kind: str) -> None:
    getattr(store, f"create_{kind}")("o", now=T0)
    attach = getattr(store, f"attach_{kind}_policy")
    detach = getattr(store, f"detach_{kind}_policy")
    listed = getattr(store, f"list_attached_{kind}_policies")
    b = store.create_policy("b", doc(), path="/p/", now=T0)
    a = store.create_policy("a", doc(), now=T0)
    attach("o", b.arn)
    attach("O", a.arn)
    attach("o", a.arn)  # idempotent
    assert [(x.policy_name, x.policy_arn) for x in listed("o")] == [("a", a.arn), ("b", b.arn)]
    assert store.get_policy(a.arn).attachment_count == 1
    detach("o", a.arn)
    assert [x.policy_name for x in listed("o")] == ["b"]
    with pytest.raises(NoSuchEntity):
        detach("o", a.arn)
    with pytest.raises(NoSuchEntity) as e:
        attach("o", policy_arn("ghost"))
    assert str(e.value) == f"Policy {policy_arn('ghost')} does not exist or is not attachable."
    with pytest.raises(NoSuchEntity):
        attach("ghost", a.arn)
    with pytest.raises(NoSuchEntity):
        listed("ghost")


@pytest.mark.parametrize("kind", ["user", "group"])
def test_ten_attached_policies(store: Any, kind: str) -> None:
    getattr(store, f"create_{kind}")("o", now=T0)
    attach = getattr(store, f"attach_{kind}_policy")
    for i in range(11):
        store.create_policy(f"p{i}", doc(), now=T0)
    for i in range(10):
        attach("o", policy_arn(f"p{i}"))
    with pytest.raises(LimitExceeded) as e:
        attach("o", policy_arn("p10"))
    assert str(e.value) == f"Cannot exceed quota for PoliciesPer{kind.capitalize()}: 10"
    attach("o", policy_arn("p0"))


def test_delete_policy(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.create_group("g", now=T0)
    p = store.create_policy("p", doc(), now=T0)
    store.attach_user_policy("u", p.arn)
    store.attach_group_policy("g", p.arn)
    for detach in (
        lambda: store.detach_user_policy("u", p.arn),
        lambda: store.detach_group_policy("g", p.arn),
    ):
        with pytest.raises(DeleteConflict) as e:
            store.delete_policy(p.arn)
        assert str(e.value) == "Cannot delete a policy attached to entities."
        detach()
    store.delete_policy(p.arn)
    with pytest.raises(NoSuchEntity):
        store.get_policy(p.arn)
    with pytest.raises(NoSuchEntity):
        store.delete_policy(p.arn)


# -- evaluation ------------------------------------------------------------------


def test_policies_for_user_gathers_everything_once(store: IdentityStore) -> None:
    store.create_user("u", now=T0)
    store.create_user("other", now=T0)
    for g in ("g2", "g1", "unjoined"):
        store.create_group(g, now=T0)
    store.add_user_to_group("g2", "u")
    store.add_user_to_group("g1", "u")
    store.put_user_policy("u", "inline-b", "UB")
    store.put_user_policy("u", "inline-a", "UA")
    store.put_user_policy("other", "x", "OTHER")
    store.put_group_policy("g1", "gp", "G1")
    store.put_group_policy("g2", "gp", "G2")
    store.put_group_policy("unjoined", "gp", "NOPE")
    for name in ("m1", "m2", "m3"):
        store.create_policy(name, name.upper(), now=T0)
    store.attach_user_policy("u", policy_arn("m2"))
    store.attach_group_policy("g1", policy_arn("m2"))  # also through a group: once
    store.attach_group_policy("g2", policy_arn("m1"))
    store.attach_group_policy("unjoined", policy_arn("m3"))
    assert store.policies_for_user("U") == ["UA", "UB", "M2", "G1", "G2", "M1"]
    assert store.policies_for_user("other") == ["OTHER"]
    assert store.policies_for_user("ghost") == []
    assert store.policies_for_user("not a name\x00") == []


# -- common ----------------------------------------------------------------------


def test_errors_are_identity_errors_with_iam_codes() -> None:
    table = {
        EntityAlreadyExists("user", "u"): ("EntityAlreadyExists", 409),
        NoSuchEntity("user", "u"): ("NoSuchEntity", 404),
        LimitExceeded("X", 1): ("LimitExceeded", 409),
        DeleteConflict("user", "u", ("delete access keys",)): ("DeleteConflict", 409),
        ValidationError("userName", "a b", "pattern"): ("ValidationError", 400),
    }
    for err, (code, status) in table.items():
        assert isinstance(err, IdentityError)
        assert (err.code, err.status) == (code, status)
        assert err.message == str(err)


def test_naive_datetimes_are_refused(store: IdentityStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.create_user("u", now=datetime(2024, 1, 1))


def test_identity_survives_reopening(open_store: StoreFactory) -> None:
    a = open_store(SecretCipher([K1]))
    a.create_user("u", now=T0)
    k = a.create_access_key("u", now=T0)
    a.close()
    b = open_store(SecretCipher([K1]))
    cred = b.credential_for(k.access_key_id)
    assert cred is not None and cred.secret_key == k.secret_key


def test_process_environment_is_not_consulted(
    store: IdentityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store uses the cipher it was given, never SEALBOX_SECRET_KEY directly.
    monkeypatch.setenv("SEALBOX_SECRET_KEY", "AAAA")
    store.create_user("u", now=T0)
    k = store.create_access_key("u", now=T0)
    assert store.credential_for(k.access_key_id) is not None
    assert os.environ["SEALBOX_SECRET_KEY"] == "AAAA"


def test_credential_for_is_primary_key_lookups(store: Any) -> None:
    """The hot path reads the key and its user by primary key, nothing scanned."""
    if isinstance(store, SqliteMetaStore):
        from sealbox.store.sql.identity import _CREDENTIAL

        with sqlite3.connect(store.path) as conn:
            plan = [r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + _CREDENTIAL, ("k",))]
        assert len(plan) == 2 and all("USING PRIMARY KEY" in p for p in plan), plan
        return
    import psycopg

    from sealbox.store.sql.dialect import POSTGRES
    from sealbox.store.sql.identity import _CREDENTIAL

    with psycopg.connect(store.dsn) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table would be scanned whole
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + POSTGRES.q(_CREDENTIAL), ("k",)))
    assert "iam_access_keys_pkey" in plan and "iam_users_pkey" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_sqlite_version_2_database_gains_the_identity_tables(
    tmp_path: Any, schema_history: dict[str, list[list[str]]]
) -> None:
    from sealbox.store import sqlite as mod

    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        for migration in schema_history["sqlite"][:2]:
            for stmt in migration:
                conn.execute(stmt)
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO buckets VALUES ('b', 0, 'us-east-1', 'o')")
    s = SqliteMetaStore(path, cipher=SecretCipher([K1]))
    try:
        assert s.get_bucket("b") is not None
        s.create_user("u", now=T0)
        k = s.create_access_key("u", now=T0)
        assert s.credential_for(k.access_key_id) is not None
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == mod.SCHEMA_VERSION
    finally:
        s.close()


# -- the access version ------------------------------------------------------


def test_access_version_moves_with_every_access_rule_change(store: Any) -> None:
    """Caches of access rules are valid while the version stands still: every
    write to IAM, bucket settings or server settings must move it; object
    writes must not (they would empty the caches on every upload)."""
    from sealbox.store.meta import Bucket, ObjectRecord, Segment

    seen = [store.access_version()]

    def moved() -> None:
        now = store.access_version()
        assert now > seen[-1]
        seen.append(now)

    store.create_bucket(Bucket("acl", T0, "us-east-1", "arn:aws:iam::000000000000:root"))
    store.put_object(ObjectRecord("acl", "k", 1, "e", T0, (Segment("blob", 1),)))
    assert store.access_version() == seen[-1]
    store.put_bucket_setting("acl", "policy", "{}")
    moved()
    store.delete_bucket_setting("acl", "policy")
    moved()
    store.put_server_setting("public-access-block", "{}")
    moved()
    store.create_user("alice", now=T0)
    moved()
    key = store.create_access_key("alice", now=T0)
    moved()
    store.update_access_key("alice", key.access_key_id, "Inactive")
    moved()
    store.put_user_policy("alice", "p", '{"Version": "2012-10-17", "Statement": []}')
    moved()
    store.create_group("team", now=T0)
    moved()
    store.add_user_to_group("team", "alice")
    moved()
    store.delete_access_key("alice", key.access_key_id)
    moved()
    store.put_bucket_setting("acl", "cors", "[]")
    moved()
    store.delete_object("acl", "k")
    assert store.access_version() == seen[-1]
    store.delete_bucket("acl")  # its settings go with it
    moved()
