"""The access version: one counter that every change to who may do what
moves forward, so servers may cache access rules and still see a change on
their next request.

Access rules are IAM users, keys, groups and policies, bucket settings
(policy, Block Public Access, ACL, ownership, CORS) and server settings.
The database itself moves the counter, with triggers on those tables, so no
code path that writes them can forget to. A reader reads the version first
and then the rules, and keeps what it read tagged with that version: the
rules are at least as new as their tag, so a cache entry whose tag equals
the current version is never stale (``sealbox.api.access_gate``).
"""

from __future__ import annotations

ACCESS_TABLES = (
    "iam_users", "iam_groups", "iam_group_members", "iam_access_keys", "iam_user_policies",
    "iam_group_policies", "iam_policies", "iam_user_attachments", "iam_group_attachments",
    "bucket_settings", "server_settings",
)

_TABLE_SQL = ("CREATE TABLE access_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
              "version BIGINT NOT NULL)")
_ROW_SQL = "INSERT INTO access_version (id, version) VALUES (1, 1)"
READ_SQL = "SELECT version FROM access_version WHERE id = 1"


def sqlite_schema() -> tuple[str, ...]:
    """Statements (trigger bodies hold ';', so not one script). SQLite has
    row triggers only: a statement touching n rows moves the counter n."""
    statements = [_TABLE_SQL, _ROW_SQL]
    for table in ACCESS_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_{event.lower()}_access AFTER {event} ON {table} "
                "BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; END")
    return tuple(statements)


def postgres_schema() -> tuple[str, ...]:
    statements = [
        _TABLE_SQL,
        _ROW_SQL,
        "CREATE FUNCTION sealbox_bump_access_version() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN UPDATE access_version SET version = version + 1 WHERE id = 1; "
        "RETURN NULL; END $$",
    ]
    for table in ACCESS_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_access AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION sealbox_bump_access_version()")
    return tuple(statements)
