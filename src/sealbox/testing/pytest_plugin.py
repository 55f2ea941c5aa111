"""A pytest plugin for applications that hand out sealbox links: test that flow
against a real server that verifies every signature, as AWS does.

Installed with sealbox, it is found through the ``pytest11`` entry point
(``sealbox``); without the installed metadata, load it with
``-p sealbox.testing.pytest_plugin``. It gives two fixtures:

- ``sealbox_server`` (session): a real ``sealbox serve`` on a free loopback
  port, SQLite and local files in a temporary directory, root keys; a
  ``SealboxServer`` (endpoint, keys, region, boto3 clients, users with
  policies, managed links, link rules).
- ``sealbox_bucket`` (per test): a fresh, empty bucket, removed with its
  objects afterwards.

Nothing starts unless a test asks for a fixture, so loading the plugin costs
a session nothing. ``--sealbox-keep`` keeps the data directory and the
server's log (their paths are printed at the end). When a test that used the
server fails, its report has a "sealbox server log" section: the request
lines the server logged during that test (with their statuses) and any
error, so a developer sees which request was refused.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sealbox.config import DEFAULT_REGION
from sealbox.testing.server import TEST_ACCESS_KEY, TEST_SECRET_KEY, RunningServer

if TYPE_CHECKING:
    from sealbox.cli.client import AdminClient

_SERVER = pytest.StashKey["SealboxServer"]()
_LOG_OFFSET = pytest.StashKey[int]()
_KEPT = pytest.StashKey[Path]()
_LOG_TAIL = 200  # lines of the server's log shown in a failed test's report


class SealboxServer:
    """A running sealbox server for a test session, and what a test does with it.

    The keys are the root account's: a client made with them may do
    anything. ``create_user`` makes a key that only its policy allows.
    """

    def __init__(self, running: RunningServer, region: str = DEFAULT_REGION) -> None:
        # Imported here: the plugin is loaded into every session of an
        # installed sealbox, and most never start a server.
        from sealbox.cli.client import AdminClient

        self._running = running
        self.region = region
        self.admin: AdminClient = AdminClient(running.endpoint, running.access_key,
                                              running.secret_key, region)
        self._root_s3: Any = None

    def __repr__(self) -> str:
        return f"SealboxServer({self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: S3, IAM and the admin API on one port."""
        return self._running.endpoint

    @property
    def access_key(self) -> str:
        return self._running.access_key

    @property
    def secret_key(self) -> str:
        return self._running.secret_key

    @property
    def data_dir(self) -> Path:
        return self._running.data_dir

    @property
    def log_path(self) -> Path | None:
        """The server's log: every request line with its status, and errors."""
        return self._running.log_path

    def log(self) -> str:
        return self._running.log()

    def boto3_config(self, **overrides: Any) -> Any:
        """A ``botocore.config.Config`` for this server: SigV4, path-style
        addressing (no DNS for ``<bucket>.127.0.0.1``), no retries (a refusal
        is seen at once, not after back-off); ``overrides`` win."""
        pytest.importorskip("botocore", reason="sealbox_server.boto3_config() needs boto3 "
                                               "(pip install boto3)")
        from botocore.config import Config  # type: ignore[import-untyped]

        options: dict[str, Any] = {"signature_version": "s3v4",
                                   "s3": {"addressing_style": "path"},
                                   "retries": {"max_attempts": 1, "mode": "standard"}}
        options.update(overrides)
        return Config(**options)

    def client(self, service: str = "s3", access_key: str | None = None,
               secret_key: str | None = None, **config: Any) -> Any:
        """A boto3 client for ``service`` (``s3``, ``iam``, ``cloudfront``)
        on this server, signed with the root keys or the keys given; a skip
        when boto3 is not installed."""
        boto3 = pytest.importorskip("boto3", reason="sealbox_server.client() needs boto3 "
                                                    "(pip install boto3)")
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            config=self.boto3_config(**config))

    def root_s3(self) -> Any:
        """The root's S3 client, made once."""
        if self._root_s3 is None:
            self._root_s3 = self.client()
        return self._root_s3

    def create_user(self, name: str, policy: dict[str, Any] | None = None) -> tuple[str, str]:
        """Create the IAM user ``name`` with ``policy`` as its inline policy
        (none: the user may do nothing) and an access key; ``(access key id,
        secret)``. Through the admin API, as ``sealbox admin`` does."""
        from sealbox.cli.client import path

        self.admin.call("POST", path("users"), {"UserName": name})
        if policy is not None:
            self.admin.call("PUT", path("users", name, "policies", "sealbox-pytest"),
                            {"PolicyDocument": policy})
        key = self.admin.call("POST", path("users", name, "access-keys")).body["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def create_link(self, bucket: str, key: str, method: str = "GET",
                    expires: int | str = 900, uses: int | None = None,
                    bind_ip: str | Sequence[str] | None = None, **members: Any) -> str:
        """A managed link's URL (``POST /_sealbox/api/v1/links``) signed with
        the root keys: ``expires`` in seconds or ``15m``/``12h``/``7d``,
        ``uses`` the most requests it admits, ``bind_ip`` a CIDR or several.
        ``members`` are the API's other members as it names them
        (``ContentType``, ``MaxSize``, ``Note``, ``ResponseContentType``…)."""
        from sealbox.cli.client import path

        body: dict[str, Any] = {"Bucket": bucket, "Key": key, "Method": method,
                                "Expires": expires, **members}
        if uses is not None:
            body["MaxUses"] = uses
        if bind_ip is not None:
            body["BindIp"] = [bind_ip] if isinstance(bind_ip, str) else list(bind_ip)
        return str(self.admin.call("POST", path("links"), body).body["Url"])

    def put_link_rules(self, rules: dict[str, Any]) -> None:
        """Store the signing endpoint's rules (``PUT
        /_sealbox/api/v1/link-rules``); a skip when this server has no such
        endpoint."""
        from sealbox.cli.client import ApiError, path

        try:
            self.admin.call("PUT", path("link-rules"), rules)
        except ApiError as error:
            if error.status in (404, 405):
                pytest.skip("this sealbox server has no link rules endpoint "
                            "(/_sealbox/api/v1/link-rules)")
            raise

    def create_bucket(self, prefix: str = "app-test") -> str:
        """A new bucket with a unique name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.root_s3().create_bucket(Bucket=name)
        return name

    def remove_bucket(self, name: str) -> None:
        """Delete a bucket's objects, unfinished uploads, then the bucket."""
        s3 = self.root_s3()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                      UploadId=upload["UploadId"])
        s3.delete_bucket(Bucket=name)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sealbox", "sealbox test server")
    group.addoption("--sealbox-keep", action="store_true", default=False,
                    help="keep the sealbox_server fixture's data directory and log")


@pytest.fixture(scope="session")
def sealbox_server(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealboxServer]:
    """A real sealbox server on a free loopback port for the session (see
    ``SealboxServer``)."""
    base = tmp_path_factory.mktemp("sealbox-server")
    running = RunningServer(data_dir=base / "data", access_key=TEST_ACCESS_KEY,
                            secret_key=TEST_SECRET_KEY,
                            extra_args=("--log-level", "info", "--access-log"),
                            env={"SEALBOX_REGION": DEFAULT_REGION})
    running.start()
    server = SealboxServer(running)
    request.config.stash[_SERVER] = server
    try:
        yield server
    finally:
        running.stop()
        del request.config.stash[_SERVER]
        if not request.config.getoption("sealbox_keep"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            request.config.stash[_KEPT] = base


@pytest.fixture
def sealbox_bucket(sealbox_server: SealboxServer) -> Iterator[str]:
    """A fresh, empty bucket for one test; removed, objects and all, after it."""
    name = sealbox_server.create_bucket()
    yield name
    sealbox_server.remove_bucket(name)


def _log_size(server: SealboxServer | None) -> int:
    if server is None or server.log_path is None:
        return 0
    try:
        return server.log_path.stat().st_size
    except OSError:
        return 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Where this test's lines start in the log (0 when its setup starts the server).
    item.stash[_LOG_OFFSET] = _log_size(item.config.stash.get(_SERVER, None))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    server = item.config.stash.get(_SERVER, None)
    if report.failed and server is not None and "sealbox_server" in getattr(
            item, "fixturenames", ()):
        report.sections.append(("sealbox server log", _log_excerpt(server, item)))
    return report


def _log_excerpt(server: SealboxServer, item: pytest.Item) -> str:
    """The log lines written since the test started (the last ``_LOG_TAIL``)."""
    where = f"{server.log_path} (requests during this test, with their statuses)"
    if server.log_path is None:
        return where
    try:
        with open(server.log_path, "rb") as f:
            f.seek(item.stash.get(_LOG_OFFSET, 0))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError as error:
        return f"{where}\n(unreadable: {error})"
    if len(lines) > _LOG_TAIL:
        lines = [f"... {len(lines) - _LOG_TAIL} earlier lines ...", *lines[-_LOG_TAIL:]]
    return "\n".join([where, *lines])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    kept = config.stash.get(_KEPT, None)
    if kept is not None:
        terminalreporter.write_line(f"sealbox: kept the server's data and log in {kept}")
