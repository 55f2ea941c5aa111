"""A throwaway PostgreSQL cluster for tests and benchmarks.

``PostgresCluster`` runs ``initdb`` into a fresh temporary directory and
starts ``postgres`` on a Unix socket in that directory only (no TCP port,
so parallel test sessions and xdist workers never collide), with trust
authentication: the directory is mode 0700, so only its owner (and root)
can reach the socket. ``new_schema()`` and ``new_database()`` give each
test an empty namespace in milliseconds or tens of milliseconds.

PostgreSQL refuses to run as root. Run as root, the cluster belongs to the
``postgres`` user (else ``nobody``): the directory is handed to it and
``initdb`` and ``postgres`` run under its uid.

The server is a direct child of this process rather than daemonised by
``pg_ctl``, and on Linux it gets a parent-death signal: if the test run is
killed, the server shuts down too instead of lingering. Its directory
(``sealbox-pg-*`` in the temp dir) is then removed by the next cluster's
start, once an hour old and with no live server in it.

By default the cluster is tuned for tests (``fsync = off`` and no
synchronous commit): a machine crash loses it, which does not matter for a
throwaway. ``durable=True`` keeps PostgreSQL's defaults, for benchmarks.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

PORT = 5432  # only names the socket file; there is no TCP listener
SUPERUSER = "postgres"

_FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresNotFound(RuntimeError):
    """No PostgreSQL server binaries (``initdb``, ``postgres``) on this machine."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None.

    Looks at ``$SEALBOX_PG_BINDIR``, then ``pg_config --bindir`` (Debian's
    pg_config comes with libpq-dev and may name a directory the server
    package never filled), then ``/usr/lib/postgresql/*/bin`` newest first,
    then ``$PATH``.
    """
    candidates: list[Path] = []
    if env := os.environ.get("SEALBOX_PG_BINDIR"):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            candidates.append(Path(out))
        except (OSError, subprocess.SubprocessError):
            pass
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: [int(x) for x in re.findall(r"\d+", p)], reverse=True)
    candidates += [Path(p) for p in versioned]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for d in candidates:
        if all(os.access(d / name, os.X_OK) for name in ("initdb", "postgres")):
            return d
    return None


def _server_user() -> pwd.struct_passwd | None:
    """Whom to run the server as: None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def _parent_death_signal(sig: int) -> Any:
    """A preexec_fn asking Linux to send ``sig`` to the child when we die."""
    if not sys.platform.startswith("linux"):
        return None
    # Only from the main thread: the signal fires when the *thread* that
    # forked exits, and a helper thread may end long before the session.
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:  # runs after the uid change, so it is not reset
        prctl(pr_set_pdeathsig, sig, 0, 0, 0)

    return preexec


def _remove_abandoned(tmp: Path, min_age: float = 3600.0) -> None:
    """Remove the directories of clusters whose test run was killed."""
    for d in tmp.glob("sealbox-pg-*"):
        try:
            if time.time() - d.stat().st_mtime < min_age:
                continue
            pid = int((d / "data" / "postmaster.pid").read_text().split()[0])
        except FileNotFoundError:
            pid = 0  # shut down, or never started
        except (OSError, ValueError, IndexError):
            continue
        if pid:
            try:
                os.kill(pid, 0)
                continue  # still running: not abandoned
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        shutil.rmtree(d, ignore_errors=True)


class PostgresCluster:
    """A PostgreSQL server in a temporary directory; a context manager.

    ``dsn()`` is a libpq connection string for the superuser; ``new_schema()``
    a DSN whose ``search_path`` is a fresh empty schema.
    """

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        durable: bool = False,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresNotFound(
                "PostgreSQL server binaries (initdb, postgres) not found; install the "
                "Debian package 'postgresql' (bash scripts/install-test-deps.sh) or set "
                "SEALBOX_PG_BINDIR"
            )
        self.bindir = found
        self.settings = {} if durable else dict(_FAST)
        self.settings.update(settings or {})
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._user = _server_user()
        self._counter = 0
        self._lock = threading.Lock()

    # -- life cycle --------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "cluster not started"
        return self.root

    @property
    def data_dir(self) -> Path:
        return self.socket_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.socket_dir / "postgres.log"

    def _run_as(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60.0) -> None:
        _remove_abandoned(Path(tempfile.gettempdir()))
        self.root = Path(tempfile.mkdtemp(prefix="sealbox-pg-"))
        # A Unix socket path must fit in 107 bytes.
        if len(str(self.root / f".s.PGSQL.{PORT}.lock")) > 100:
            os.rmdir(self.root)
            self.root = Path(tempfile.mkdtemp(prefix="sealbox-pg-", dir="/tmp"))
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        root = self.socket_dir
        if self._user is not None:
            os.chown(root, self._user.pw_uid, self._user.pw_gid)
        env = dict(os.environ, LC_ALL="C", TZ="UTC")
        env.pop("PGDATA", None)
        initdb = [
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
        ]  # fmt: skip
        # The default collation is a natural-language one, as on most real
        # servers, so a column that forgets COLLATE "C" sorts keys wrongly
        # in the tests too. ICU needs PostgreSQL 15 built with ICU; without
        # it the cluster keeps the C locale.
        for extra in (["--locale-provider=icu", "--icu-locale=en-US"], []):
            done = subprocess.run(
                initdb + extra, cwd=root, env=env, capture_output=True, timeout=timeout, check=False,
                **self._run_as(),
            )  # fmt: skip
            if done.returncode == 0:
                break
            shutil.rmtree(self.data_dir, ignore_errors=True)
        else:
            raise RuntimeError(f"initdb failed:\n{done.stdout.decode()}{done.stderr.decode()}")
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{root}'",
            "port": str(PORT),
            "timezone": "'UTC'",
            "shared_buffers": "'32MB'",
            "max_connections": "200",
            "logging_collector": "off",
            **{
                k: v if v.replace("_", "").isalnum() else f"'{v}'" for k, v in self.settings.items()
            },
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# sealbox.testing.postgres\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        with open(self.log_path, "ab") as log:
            if self._user is not None:
                os.fchown(log.fileno(), self._user.pw_uid, self._user.pw_gid)
            # The preexec_fn only calls prctl through a ctypes function
            # looked up beforehand: no lock is taken between fork and exec.
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data_dir)],
                cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(signal.SIGINT),  # noqa: PLW1509
                **self._run_as(),
            )  # fmt: skip
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        # The postmaster writes "ready" as the eighth line of postmaster.pid
        # once it accepts connections; pg_ctl -w waits on the same line.
        pidfile = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited early:\n{self.log()}")
            try:
                lines = pidfile.read_text().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            time.sleep(0.02)
        raise RuntimeError(f"postgres did not become ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except (OSError, AssertionError):
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if need be; delete the directory."""
        p, self.process = self.process, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- connecting --------------------------------------------------------
    def dsn(self, dbname: str = "postgres", **options: str) -> str:
        """A libpq connection string for the superuser."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=str(self.socket_dir), port=PORT, user=SUPERUSER, dbname=dbname, **options
        )

    def _admin(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def _fresh_name(self, kind: str) -> str:
        with self._lock:
            self._counter += 1
            return f"sealbox_{kind}_{os.getpid()}_{self._counter}"

    def new_database(self, name: str | None = None) -> str:
        """Create an empty database; return its DSN."""
        name = name or self._fresh_name("db")
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.dsn(name)

    def new_schema(self, name: str | None = None, dbname: str = "postgres") -> str:
        """Create an empty schema; return a DSN whose search_path is only it."""
        name = name or self._fresh_name("s")
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain identifier: {name!r}")
        self._admin(f'CREATE SCHEMA "{name}"', dbname)
        return self.dsn(dbname, options=f"-c search_path={name}")

    def drop_schema(self, dsn: str) -> None:
        """Drop the schema a ``new_schema()`` DSN points at, with its tables."""
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(dsn)
        name = str(params["options"]).removeprefix("-c search_path=")
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a new_schema() DSN: {dsn!r}")
        self._admin(f'DROP SCHEMA "{name}" CASCADE', str(params["dbname"]))
