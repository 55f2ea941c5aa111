"""The links' tables on SQLite and PostgreSQL (``links.store``): a use is
one conditional UPDATE that never admits more than the limit, even from
many threads at once; a request judged in its use's transaction
(``admit_links``) spends a use only when the link's terms admit it; a revocation moves the access version (every node
sees it next request) and a use does not; expired links and revocations
are swept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.links import model
from sealbox.links.model import LinkRecord, Revocation
from sealbox.links.terms import LinkRequest, LinkTerms


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from sealbox.store.sqlite import SqliteMetaStore

        meta: Any = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    else:
        from sealbox.store.postgres import PostgresMetaStore

        meta = PostgresMetaStore(request.getfixturevalue("postgres_dsn"))
    yield meta
    meta.close()


def _link(link_id: str, *, expires: int = 2000, max_uses: int | None = 5,
          bucket: str = "b") -> LinkRecord:
    return LinkRecord(link_id, "AKID", "arn:root", bucket, "k", "GET", 1000, expires, max_uses,
                      ("10.0.0.0/8",), None, None, "a note", model.fingerprint(link_id))


def test_a_link_reads_back_with_its_uses(store: Any) -> None:
    link_id = model.new_link_id()
    store.insert_link(_link(link_id))
    assert store.get_link(link_id) == _link(link_id)
    assert store.get_link("lnk-zzzzzzzzzzzzzzzzzzzz") is None
    assert store.admit_links([_asked(link_id)]) == [(LinkTerms.of(_link(link_id)), None)]
    assert store.get_link(link_id).uses == 1
    other = model.new_link_id()
    store.insert_link(_link(other, bucket="c"))
    assert [r.link_id for r in store.list_links("c")] == [other]
    assert {r.link_id for r in store.list_links()} == {link_id, other}


def _asked(link_id: str, client_ip: str = "10.1.2.3", key: str = "k") -> LinkRequest:
    return LinkRequest(link_id, "AKID", "GetObject", "b", key, None, client_ip, {})


def test_a_request_is_judged_in_its_uses_transaction(store: Any) -> None:
    limited, unlimited = model.new_link_id(), model.new_link_id()
    store.insert_link(_link(limited, max_uses=2))
    store.insert_link(_link(unlimited, max_uses=None))
    terms = LinkTerms("AKID", "GET", "b", "k", None, ("10.0.0.0/8",), None, None, 2)
    verdicts = store.admit_links([
        _asked(limited, client_ip="192.0.2.1"),  # refused by its terms: no use spent
        _asked(limited, key="other"),
        _asked(limited), _asked(limited), _asked(limited),  # two uses, then used up
        _asked(limited, client_ip="192.0.2.1"),  # used up, but its terms speak first
        _asked(unlimited), _asked(unlimited),
        _asked("lnk-zzzzzzzzzzzzzzzzzzzz"),
    ])
    assert verdicts == [
        (terms, model.WRONG_ADDRESS), (terms, model.WRONG_OPERATION),
        (terms, None), (terms, None), (terms, model.USED_UP), (terms, model.WRONG_ADDRESS),
        (terms._replace(max_uses=None), None), (terms._replace(max_uses=None), None),
        (None, model.UNKNOWN_LINK),
    ]
    assert store.get_link(limited).uses == 2
    assert store.get_link(unlimited).uses == 0  # an unlimited link is never counted


def test_concurrent_batches_never_pass_the_limit(store: Any) -> None:
    link_id = model.new_link_id()
    store.insert_link(_link(link_id, max_uses=5))
    admitted: list[bool] = []
    start = threading.Barrier(8)

    def batch() -> None:
        start.wait()
        verdicts = store.admit_links([_asked(link_id)] * 3)
        admitted.extend(refused is None for _, refused in verdicts)

    threads = [threading.Thread(target=batch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 5 and store.get_link(link_id).uses == 5


def test_a_revocation_moves_the_access_version_and_a_use_does_not(store: Any) -> None:
    link_id = model.new_link_id()
    store.insert_link(_link(link_id))
    before = store.access_version()
    store.admit_links([_asked(link_id)])
    assert store.access_version() == before
    first = store.revoke(Revocation(model.fingerprint(link_id), 2000, "link", link_id))
    assert store.access_version() > before
    assert store.revoke(Revocation(model.fingerprint(link_id), 9999, "sigv4")) == first
    assert store.revoked_fingerprints(1500) == {model.fingerprint(link_id)}
    assert store.revoked_fingerprints(2000) == frozenset()
    assert store.get_link(link_id).revoked is True


def test_expired_links_and_revocations_are_swept(store: Any) -> None:
    old, young = model.new_link_id(), model.new_link_id()
    store.insert_link(_link(old, expires=1500))
    store.insert_link(_link(young, expires=3000))
    store.revoke(Revocation("a" * 64, 1500, "sigv2"))
    store.revoke(Revocation("b" * 64, 3000, "cloudfront"))
    assert store.sweep_links(2000) == 2
    assert store.get_link(old) is None and store.get_link(young) is not None
    assert store.revoked_fingerprints(0) == {"b" * 64}
    version = store.access_version()
    assert store.sweep_links(2000) == 0
    assert store.access_version() == version  # nothing to sweep: no cache emptied
