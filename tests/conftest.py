"""Fixtures: a real sealbox server per metadata store per test session (per
xdist worker), real clients (boto3, the AWS CLI) pointed at it, and a
throwaway PostgreSQL cluster.

Every test that goes through the server runs twice: on the embedded SQLite
store and on PostgreSQL. Without PostgreSQL binaries or psycopg the
PostgreSQL runs are skipped, saying why, except in CI (``CI=true``), where
that is a failure: CI must run every metadata test on both stores.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from sealbox.testing.postgres import PostgresCluster, find_bindir
from sealbox.testing.server import RunningServer

_counter = itertools.count()

# Virtual-host style requests are sent to <bucket>.s3.sealbox.test, resolved
# to loopback by the client (curl --resolve), never by DNS.
VIRTUAL_HOST_DOMAIN = "s3.sealbox.test"


def _unavailable(why: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        _unavailable("psycopg 3 is not installed (pip install -e '.[test]')")
    if find_bindir() is None:
        _unavailable(
            "PostgreSQL server binaries (initdb, postgres) not found "
            "(bash scripts/install-test-deps.sh installs them)"
        )
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_dsn(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A DSN whose search_path is a fresh, empty schema, dropped after the test."""
    dsn = postgres_cluster.new_schema()
    yield dsn
    postgres_cluster.drop_schema(dsn)


@pytest.fixture(scope="session")
def schema_history() -> dict[str, list[list[str]]]:
    """The released schema statements per database: ``[db][v]`` took schema
    version v to v + 1 (tests/vectors/schema_history.json, frozen history)."""
    with open(Path(__file__).parent / "vectors" / "schema_history.json", encoding="utf-8") as f:
        doc = json.load(f)
    return {db: doc[db] for db in ("sqlite", "postgres")}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real ``sealbox serve`` on a loopback port, once per metadata store."""
    base = tmp_path_factory.mktemp(f"sealbox-{request.param}")
    # Two named networks: loopback (where every test request comes from)
    # and a documentation range no request comes from.
    args: tuple[str, ...] = ("--domain", VIRTUAL_HOST_DOMAIN, "--network", "loopback=127.0.0.0/8",
                             "--network", "lab=192.0.2.0/24,2001:db8::/32",
                             # Access logs delivered every second (the default is 60).
                             "--log-delivery-seconds", "1")
    if request.param == "postgres":
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        args += ("--meta-dsn", cluster.new_database())
    with RunningServer(data_dir=base / "data", extra_args=args) as running:
        yield running


def make_client(server: RunningServer, service: str = "s3", **config: object):
    import boto3
    from botocore.config import Config

    defaults: dict[str, object] = {
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 1, "mode": "standard"},
        "signature_version": "s3v4",
    }
    defaults.update(config)
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(**defaults),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def s3(server: RunningServer):
    """A boto3 S3 client signed as root, path-style, no retries."""
    return make_client(server)


@pytest.fixture(scope="session")
def client_factory(server: RunningServer):
    """Make another boto3 client for the test server with other botocore config."""
    return lambda service="s3", **config: make_client(server, service, **config)


@pytest.fixture
def bucket(s3) -> str:
    """A fresh, empty bucket for one test."""
    name = f"test-{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def aws_env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    """Environment for running the AWS CLI against the test server."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key,
        AWS_SECRET_ACCESS_KEY=server.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_MAX_ATTEMPTS="1",
    )
    return env


@pytest.fixture(scope="session")
def signed(server: RunningServer):
    """Send a SigV4-signed request exactly as given (raw bytes, odd headers),
    bypassing boto3's own validation; returns the ``requests`` response."""
    import requests
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials(server.access_key, server.secret_key)
    session = requests.Session()

    def send(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
             signed_body: bytes | None = None,
             after_signing: dict[str, str] | None = None) -> requests.Response:
        """``signed_body`` signs other bytes than those sent; ``after_signing``
        changes headers once the signature is made (both to forge requests)."""
        url = server.endpoint + path
        signed_data = body if signed_body is None else signed_body
        request = AWSRequest(method, url, data=signed_data, headers=dict(headers or {}))
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
        prepared = request.prepare()
        sent_headers = dict(prepared.headers)
        sent_headers.update(after_signing or {})
        return session.request(method, prepared.url, data=body, headers=sent_headers,
                               timeout=30)

    return send
