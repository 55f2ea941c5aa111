"""Where object bytes go, for ``sealbox serve --blob-store``;
``sealbox sweep-blobs``: remove now the leftovers the server's hourly
sweep removes (blobs no record names, older than a grace period);
``sealbox migrate-blobs --to s3://…``: copy a store's blob files into a
bucket, under the same ids, while the server serves from the files."""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sealbox.store.blob_location import (
    BadBlobStore,
    LocalLocation,
    S3Location,
    parse_blob_store,
)
from sealbox.store.blobs import BlobBackendError

BLOB_STORE_HELP = ("where object bytes go: s3://BUCKET[/PREFIX] (a bucket of an "
                   "S3-compatible cluster, reached as SEALBOX_BLOB_S3_ENDPOINT, _REGION, "
                   "_ACCESS_KEY_ID and _SECRET_ACCESS_KEY say) or file:///PATH (default "
                   "$SEALBOX_BLOB_STORE, else files in DATA_DIR/objects)")
DEFAULT_MIN_AGE_HOURS = 24.0


def add_blob_store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--blob-store", metavar="URL",
                        default=os.environ.get("SEALBOX_BLOB_STORE", ""), help=BLOB_STORE_HELP)


def checked_location(value: str, data_dir: Path) -> LocalLocation | S3Location:
    """The location ``value`` names, checked; for a bucket, one request
    proves it exists and the credentials may read it. ``SystemExit`` with
    one line that says what to change otherwise."""
    try:
        location = parse_blob_store(value, data_dir)
    except BadBlobStore as error:
        raise SystemExit(f"sealbox: {error}") from None
    if isinstance(location, S3Location):
        try:
            import obstore  # noqa: F401
        except ImportError:
            raise SystemExit(f"sealbox: --blob-store {location.url} needs obstore: "
                             "pip install 'sealbox[s3]'") from None
        failure = _check_in_child(location)
        if failure:
            raise SystemExit(f"sealbox: the blob store {location.url} cannot be used "
                             f"{failure}")
    return location


def _check_in_child(location: S3Location) -> str:
    """The bucket checked by a forked child: what went wrong, or "". The
    client's runtime (tokio's threads) must not start in this process, which
    forks the workers: a child of a process whose runtime runs has the
    runtime's state without its threads, and its first request hangs."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: check, say, and leave without cleanup
        os.close(read)
        said = b""
        try:
            from sealbox.store.s3blobs import S3BlobStore

            S3BlobStore(location).check()
        except BlobBackendError as error:
            said = f"({error.kind}): {error}".encode()
        except BaseException as error:  # noqa: BLE001 - told to the parent, in one line
            said = f"(failed): {type(error).__name__}: {error}".encode()
        os.write(write, said[:4000])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read()
    os.waitpid(pid, 0)
    return said.decode(errors="replace")


def describe(location: LocalLocation | S3Location) -> str:
    """Where objects are, for the start line."""
    if isinstance(location, S3Location):
        return f"{location.url} at {location.endpoint or 'AWS'}"
    return str(location.root)


@contextmanager
def _metadata(data_dir: Path, meta_dsn: str) -> Iterator[Any]:
    """The server's MetaStore, closed after use."""
    from sealbox.store.secrets import load_cipher

    cipher = load_cipher(data_dir)
    if meta_dsn:
        from sealbox.store.postgres import PostgresMetaStore

        meta: Any = PostgresMetaStore(meta_dsn, cipher=cipher)
    else:
        from sealbox.store.sqlite import SqliteMetaStore

        meta = SqliteMetaStore(str(data_dir / "meta.sqlite3"), cipher=cipher)
    try:
        yield meta
    finally:
        meta.close()


def _record_uploads(blobs: object, meta: Any) -> None:
    """Keep the backend's multipart uploads in the metadata store, as the
    server does (an S3 backend only)."""
    record = getattr(blobs, "record_uploads", None)
    if record is not None:
        record(meta, f"{socket.gethostname()} (sealbox CLI)")


def sweep_blobs(args: argparse.Namespace) -> int:
    from sealbox.store.blob_stores import open_blob_store

    if args.min_age_hours < 0:
        raise ValueError("--min-age-hours must be 0 or more")
    data_dir = Path(args.data_dir)
    location = checked_location(args.blob_store, data_dir)
    blobs = open_blob_store(location)
    min_age = args.min_age_hours * 3600
    with _metadata(data_dir, args.meta_dsn) as meta:
        # Every blob id an object or a part names.
        referenced = meta.referenced_blob_ids()
        removed = blobs.sweep(referenced, min_age_seconds=min_age)
        _record_uploads(blobs, meta)
        abort_stale = getattr(blobs, "abort_stale_uploads", None)
        aborted = abort_stale(min_age) if abort_stale is not None else 0
    if args.json:
        print(json.dumps({"Removed": removed, "Referenced": len(referenced),
                          "UploadsAborted": aborted}))
    else:
        print(f"sealbox: removed {removed} leftover blobs ({len(referenced)} in use), "
              f"aborted {aborted} incomplete uploads")
    return 0


def migrate_blobs(args: argparse.Namespace) -> int:
    """Copy every blob a record names from the local files into the bucket
    (the same ids, so the records need no change), skipping those already
    there: run it while the server serves, then stop the server, run it
    again (it copies only what came since), and start the server with
    ``--blob-store`` naming the bucket. The files are left in place."""
    from sealbox.store.localfs import LocalBlobStore
    from sealbox.store.s3blobs import S3BlobStore

    data_dir = Path(args.data_dir)
    source = checked_location(args.blob_store, data_dir)
    target = checked_location(args.to, data_dir)
    if not isinstance(source, LocalLocation) or not isinstance(target, S3Location):
        raise SystemExit("sealbox: migrate-blobs copies local files (--blob-store file:///… "
                         "or the data dir) to a bucket (--to s3://…)")
    files = LocalBlobStore(str(source.root))
    bucket = S3BlobStore(target)
    with _metadata(data_dir, args.meta_dsn) as meta:
        referenced = meta.referenced_blob_ids()
        _record_uploads(bucket, meta)
        present = bucket.stored_ids()
        copied = missing = 0
        for blob_id in sorted(referenced - present):
            path = files.local_path(blob_id)
            assert path is not None
            try:
                bucket.put_file(blob_id, path)
            except FileNotFoundError:  # deleted since the records were read
                missing += 1
                continue
            copied += 1
    counts = {"Copied": copied, "AlreadyThere": len(referenced & present),
              "Gone": missing}
    if args.json:
        print(json.dumps(counts))
    else:
        print(f"sealbox: copied {copied} blobs to {target.url} ({counts['AlreadyThere']} "
              f"were there, {missing} went meanwhile)")
    return 0


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default="./sealbox-data",
                        help="the server's data dir (default ./sealbox-data)")
    parser.add_argument("--meta-dsn", default=os.environ.get("SEALBOX_META_DSN", ""),
                        help="the server's PostgreSQL DSN, if it uses one "
                             "(default $SEALBOX_META_DSN)")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``sweep-blobs`` and ``migrate-blobs`` on the ``sealbox``
    sub-command parser."""
    migrate = sub.add_parser(
        "migrate-blobs", help="copy a store's object bytes to an S3-compatible bucket",
        description="Copy every object's and part's bytes from the local files to the "
                    "bucket --to names (its SEALBOX_BLOB_S3_* variables as for serve), "
                    "under the same names, skipping what is there already. Safe while the "
                    "server runs. To switch: stop the server, run this again (it copies "
                    "only what came since), start the server with --blob-store s3://… . "
                    "The local files are left for you to remove.")
    _add_store_flags(migrate)
    migrate.add_argument("--blob-store", metavar="URL",
                         default=os.environ.get("SEALBOX_BLOB_STORE", ""),
                         help="where the bytes are now (default: DATA_DIR/objects)")
    migrate.add_argument("--to", required=True, metavar="s3://BUCKET[/PREFIX]",
                         help="the bucket to copy them to")
    migrate.add_argument("--json", action="store_true", help="print the counts as JSON")
    migrate.set_defaults(func=migrate_blobs)

    parser = sub.add_parser(
        "sweep-blobs", help="remove blobs no object or part names (crash leftovers)",
        description="Remove the blobs that no object or upload part names and that were "
                    "last written at least --min-age-hours ago: what a crash, a lost "
                    "answer from the blob backend or a cut upload left behind; on an S3 "
                    "backend, also abort the multipart uploads a killed node began that "
                    "long ago. The server does this hourly with a 24-hour grace; a shorter "
                    "grace is safe only when no upload is in flight longer than it.")
    _add_store_flags(parser)
    add_blob_store_flag(parser)
    parser.add_argument("--min-age-hours", type=float, default=DEFAULT_MIN_AGE_HOURS,
                        metavar="HOURS",
                        help=f"grace period (default {DEFAULT_MIN_AGE_HOURS:g})")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(func=sweep_blobs)
