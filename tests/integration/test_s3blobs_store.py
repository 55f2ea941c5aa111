"""S3BlobStore (sealbox.store.s3blobs) on its own, against moto's S3 server:
what the server relies on of it, without a server in between."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from obstore.exceptions import GenericError

from sealbox.store.blob_location import S3Location
from sealbox.store.blobs import BlobBackendError
from sealbox.store.s3blobs import S3BlobStore, backend_error
from sealbox.testing.s3_backend import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    server.create_bucket("store-tests")
    yield server
    server.stop()


@pytest.fixture
def store(moto: MotoServer, request: pytest.FixtureRequest) -> S3BlobStore:
    prefix = request.node.name.replace("[", "-").replace("]", "")[:60]
    return S3BlobStore(S3Location("store-tests", prefix, moto.endpoint, REGION, ACCESS_KEY,
                                  SECRET_KEY))


def keys(moto: MotoServer, store: S3BlobStore) -> list[str]:
    listed = moto.client().list_objects_v2(Bucket="store-tests",
                                           Prefix=store.location.prefix + "/")
    return [o["Key"].rpartition("/")[2] for o in listed.get("Contents", [])]


@pytest.mark.parametrize("size", [0, 10, 64 * 1024, 64 * 1024 + 1, 9 * MIB])
def test_a_finished_blob_reads_back_whole_and_by_range(store: S3BlobStore, moto: MotoServer,
                                                       size: int) -> None:
    body = os.urandom(size)
    writer = store.writer()
    for start in range(0, size, 100_000):
        writer.write(body[start:start + 100_000])
    assert keys(moto, store) == []  # nothing visible before finish
    blob_id = writer.finish()
    assert keys(moto, store) == [blob_id]
    with store.open(blob_id) as f:
        assert f.read() == body
        f.seek(size // 2)
        assert f.read(1000) == body[size // 2: size // 2 + 1000]
        assert f.read(10) == body[size // 2 + 1000: size // 2 + 1010]
        f.seek(size)
        assert f.read(10) == b""  # at the end: empty, as a file says


def test_an_aborted_writer_leaves_no_object_and_no_multipart_upload(
        store: S3BlobStore, moto: MotoServer) -> None:
    writer = store.writer()
    writer.write(os.urandom(20 * MIB))  # two parts sent already
    writer.abort()
    writer.abort()  # twice is fine
    assert keys(moto, store) == []
    assert moto.client().list_multipart_uploads(Bucket="store-tests").get("Uploads") is None
    with pytest.raises(ValueError):
        writer.write(b"more")


def test_a_missing_blob_is_file_not_found(store: S3BlobStore) -> None:
    with pytest.raises(FileNotFoundError), store.open("0" * 32) as f:
        f.read(10)
    store.delete("0" * 32)  # no error: already gone
    with pytest.raises(ValueError):
        store.open("../../etc/passwd")


def test_the_sweep_removes_only_old_unreferenced_blobs(store: S3BlobStore,
                                                       moto: MotoServer) -> None:
    ids = []
    for n in range(3):
        writer = store.writer()
        writer.write(b"blob %d" % n)
        ids.append(writer.finish())
    # Not a blob id: never touched.
    moto.client().put_object(Bucket="store-tests", Key=f"{store.location.prefix}/blobs/notes",
                             Body=b"x")
    assert store.sweep(set(), min_age_seconds=3600) == 0  # all too young
    assert store.sweep({ids[0]}, min_age_seconds=0) == 2
    assert sorted(keys(moto, store)) == sorted([ids[0], "notes"])


def test_delete_many_deletes_in_batches(store: S3BlobStore, moto: MotoServer) -> None:
    ids = []
    for _ in range(5):
        writer = store.writer()
        writer.write(b"x")
        ids.append(writer.finish())
    store.delete_many([*ids, "f" * 32])
    assert keys(moto, store) == []


@pytest.mark.parametrize(("text", "kind"), [
    (("Generic S3 error: ... Server returned non-2xx status code: 503 Service Unavailable: "
      "<Error><Code>SlowDown</Code>"), "busy"),
    (("Generic S3 error: Error performing PUT http://h/b/k in 1s, after 3 retries - HTTP "
      "error: error sending request"), "unreachable"),
    ("Generic S3 error: Error performing GET http://h/b/k - operation timed out", "unreachable"),
    ("Generic S3 error: ... status code: 400 Bad Request: <Code>InvalidArgument</Code>",
     "failed"),
])
def test_client_errors_say_whether_trying_again_may_help(text: str, kind: str) -> None:
    error = backend_error(GenericError(text))
    assert isinstance(error, BlobBackendError)
    assert error.kind == kind
    assert error.retriable == (kind in ("busy", "unreachable"))


def test_an_unreachable_backend_fails_the_start_check() -> None:
    store = S3BlobStore(S3Location("store-tests", "", "http://127.0.0.1:1", REGION,
                                   ACCESS_KEY, SECRET_KEY))
    with pytest.raises(BlobBackendError) as caught:
        store.check()
    assert caught.value.kind == "unreachable"
