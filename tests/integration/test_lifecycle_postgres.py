"""The lifecycle worker on PostgreSQL: one node at a time. Two servers share
one database; while a session holds the worker's advisory lock neither
applies a rule, and once it is free one of them does (each removal once:
the objects are gone and nothing failed)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sealbox.store.secrets import new_key
from sealbox.testing.postgres import PostgresCluster
from sealbox.testing.server import RunningServer
from tests.conftest import make_client
from tests.integration.test_lifecycle_worker import DAY, FAST, _keys, _until

LOCK = "SELECT {}(hashtext('sealbox.lifecycle' || current_schema()))"


def test_postgres_nodes_take_turns_by_advisory_lock(postgres_cluster: PostgresCluster,
                                                   tmp_path: Path) -> None:
    import psycopg

    dsn = postgres_cluster.new_database()
    keyring = {"SEALBOX_SECRET_KEY": new_key()}  # nodes of one store share it
    args = (*FAST, "--meta-dsn", dsn)
    with RunningServer(data_dir=tmp_path / "one", extra_args=args, env=keyring) as one, \
            RunningServer(data_dir=tmp_path / "two", extra_args=args, env=keyring) as two:
        s3: Any = make_client(one)
        s3.create_bucket(Bucket="shared")
        for n in range(20):
            s3.put_object(Bucket="shared", Key=f"tmp/{n:02d}", Body=b"x")
        with psycopg.connect(dsn, autocommit=True) as holder:
            holder.execute(LOCK.format("pg_advisory_lock"))
            s3.put_bucket_lifecycle_configuration(Bucket="shared", LifecycleConfiguration={
                "Rules": [{"ID": "r", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                           "Expiration": {"Days": 1}}]})
            time.sleep(3 * DAY)
            assert len(_keys(s3, "shared")) == 20  # no node may make a pass
            holder.execute(LOCK.format("pg_advisory_unlock"))
        _until(lambda: _keys(make_client(two), "shared") == [], "expired by one of the nodes")
        for node in (one, two):
            assert "Traceback" not in node.log()
