"""The access version: one counter that every change to who may do what
moves forward, so servers may cache access rules and still see a change on
their next request.

Access rules are IAM users, keys, groups and policies, bucket settings
(policy, Block Public Access, ACL, ownership, CORS) and server settings
(schema v6), and the edge's configuration: public keys, key groups, origin
access controls, distributions and their host names, and invalidations
(schema v7), so edge nodes may cache those too (``sealbox.edge.directory``),
and revoked signatures (schema v8, ``sealbox.links``).
The database itself moves the counter, with triggers on those tables, so no
code path that writes them can forget to. A reader reads the version first
and then the rules, and keeps what it read tagged with that version: the
rules are at least as new as their tag, so a cache entry whose tag equals
the current version is never stale (``sealbox.api.common.access_gate``).
"""

from __future__ import annotations

ACCESS_TABLES = (
    "iam_users", "iam_groups", "iam_group_members", "iam_access_keys", "iam_user_policies",
    "iam_group_policies", "iam_policies", "iam_user_attachments", "iam_group_attachments",
    "bucket_settings", "server_settings",
)
EDGE_TABLES = (
    "cf_public_keys", "cf_key_groups", "cf_key_group_keys", "cf_origin_access_controls",
    "cf_distributions", "cf_hosts", "cf_distribution_key_groups", "cf_distribution_oacs",
    "cf_invalidations",
)
# Revoked signatures (schema v8): a revocation is seen on every node's next
# request. Not ``links``: its use counts change per request.
LINK_TABLES = ("revocations",)

_TABLE_SQL = ("CREATE TABLE access_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
              "version BIGINT NOT NULL)")
_ROW_SQL = "INSERT INTO access_version (id, version) VALUES (1, 1)"
READ_SQL = "SELECT version FROM access_version WHERE id = 1"


def sqlite_triggers(tables: tuple[str, ...]) -> tuple[str, ...]:
    """The triggers that move the counter on any write to ``tables``. SQLite
    has row triggers only: a statement touching n rows moves it n."""
    return tuple(
        f"CREATE TRIGGER {table}_{event.lower()}_access AFTER {event} ON {table} "
        "BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END"
        for table in tables for event in ("INSERT", "UPDATE", "DELETE"))


def sqlite_schema() -> tuple[str, ...]:
    """Statements (trigger bodies hold ';', so not one script)."""
    return (_TABLE_SQL, _ROW_SQL, *sqlite_triggers(ACCESS_TABLES))


def postgres_triggers(tables: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        f"CREATE TRIGGER {table}_access AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION sealbox_bump_access_version()"
        for table in tables)


def postgres_schema() -> tuple[str, ...]:
    return (
        _TABLE_SQL,
        _ROW_SQL,
        (
            "CREATE FUNCTION sealbox_bump_access_version() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; "
            "RETURN NULL; END $$"
        ),
        *postgres_triggers(ACCESS_TABLES),
    )
