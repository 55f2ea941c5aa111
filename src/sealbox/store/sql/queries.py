"""Column lists and the object, upload and setting query texts, written once.

Each text is written with ``?`` marking a parameter and rendered per
database by ``Queries.render`` (pre-rendered, for the hot path:
``Dialect.queries``): SQLite's qmark style keeps ``?``, psycopg wants
``%s``. No text here contains a literal ``?`` or ``%``. What else differs
between the databases is in ``dialect.py``; the column orders here are the
ones ``rows.py`` reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

BUCKET_COLS = "name, created, region, owner"
OBJ_COLS = (
    "bucket, key, size, etag, last_modified, segments, headers, user_metadata, "
    "tags, checksums, storage_class, owner, parts_count, version_id, "
    "lock_mode, lock_until, legal_hold, sealing"
)
OBJ_ETAG = OBJ_COLS.split(", ").index("etag")  # its place in an objects row
UPLOAD_COLS = (
    "upload_id, bucket, key, initiated, headers, user_metadata, tags, "
    "storage_class, owner, checksum_algorithm, lock_mode, lock_until, legal_hold, sealing"
)
PART_COLS = "upload_id, part_number, size, etag, last_modified, blob_id, checksums, nonce"
_N_OBJ_COLS = len(OBJ_COLS.split(", "))
_N_UPLOAD_COLS = len(UPLOAD_COLS.split(", "))
# What an upsert replaces: every column after the primary key.
OBJ_VALUE_COLS = OBJ_COLS.split(", ", 2)[2]
PART_VALUE_COLS = PART_COLS.split(", ", 2)[2]


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``, in
    code point (= UTF-8 byte) order; None when there is none.

    Trailing U+10FFFF cannot be incremented and are dropped; the last other
    character is incremented, jumping over the surrogates, which no valid
    key contains.
    """
    p = prefix.rstrip("\U0010ffff")
    if not p:
        return None
    nxt = ord(p[-1]) + 1
    if nxt == 0xD800:
        nxt = 0xE000
    return p[:-1] + chr(nxt)


def _values(n: int) -> str:
    return ",".join("?" * n)


def set_columns(cols: str, value: str) -> str:
    """``col = <value>, …`` for each of ``cols`` (a column list), with
    ``{c}`` in ``value`` standing for the column's name."""
    return ", ".join(f"{c} = {value.format(c=c)}" for c in cols.split(", "))


def _list_objects() -> dict[tuple[bool, bool], str]:
    # (lower bound inclusive?, upper bound present?) -> SQL. Each is a range
    # on the (bucket, key) primary key index.
    return {
        (incl, upper): (
            f"SELECT {OBJ_COLS} FROM objects WHERE bucket = ? AND key {'>=' if incl else '>'} ?"
            + (" AND key < ?" if upper else "")
            + " ORDER BY key LIMIT ?"
        )
        for incl in (True, False)
        for upper in (True, False)
    }


@dataclass(frozen=True, slots=True)
class Queries:
    """The shared texts, for one placeholder style (see the module docstring)."""

    get_bucket: str = f"SELECT {BUCKET_COLS} FROM buckets WHERE name = ?"
    list_buckets: str = f"SELECT {BUCKET_COLS} FROM buckets ORDER BY name"
    insert_bucket: str = f"INSERT INTO buckets ({BUCKET_COLS}) VALUES ({_values(4)})"
    get_object: str = f"SELECT {OBJ_COLS} FROM objects WHERE bucket = ? AND key = ?"
    insert_object: str = f"INSERT INTO objects ({OBJ_COLS}) VALUES ({_values(_N_OBJ_COLS)})"
    set_tags: str = "UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?"
    insert_upload: str = f"INSERT INTO uploads ({UPLOAD_COLS}) VALUES ({_values(_N_UPLOAD_COLS)})"
    get_upload: str = f"SELECT {UPLOAD_COLS} FROM uploads WHERE upload_id = ?"
    # The ListMultipartUploads marker upload, if it is still there.
    marker_initiated: str = (
        "SELECT initiated FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?"
    )
    get_part: str = f"SELECT {PART_COLS} FROM parts WHERE upload_id = ? AND part_number = ?"
    insert_part: str = f"INSERT INTO parts ({PART_COLS}) VALUES ({_values(8)})"
    list_parts: str = (
        f"SELECT {PART_COLS} FROM parts WHERE upload_id = ? AND part_number > ? "
        "ORDER BY part_number LIMIT ?"
    )
    upsert_setting: str = (
        "INSERT INTO bucket_settings (bucket, name, document) VALUES (?,?,?) "
        "ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document"
    )
    get_setting: str = "SELECT document FROM bucket_settings WHERE bucket = ? AND name = ?"
    delete_setting: str = "DELETE FROM bucket_settings WHERE bucket = ? AND name = ?"
    settings_named: str = "SELECT bucket, document FROM bucket_settings WHERE name = ?"
    upsert_server_setting: str = (
        "INSERT INTO server_settings (name, document) VALUES (?,?) "
        "ON CONFLICT (name) DO UPDATE SET document = excluded.document"
    )
    get_server_setting: str = "SELECT document FROM server_settings WHERE name = ?"
    # The first writer wins (store/keyring: the keyring check, root credentials).
    add_server_setting: str = (
        "INSERT INTO server_settings (name, document) VALUES (?,?) ON CONFLICT (name) DO NOTHING"
    )
    list_server_settings: str = "SELECT name, document FROM server_settings ORDER BY name"
    delete_server_setting: str = "DELETE FROM server_settings WHERE name = ?"
    list_objects: dict[tuple[bool, bool], str] = field(default_factory=_list_objects)
    placeholder: str = "?"

    def render(self, placeholder: str) -> Queries:
        """These texts with ``placeholder`` for each ``?``."""

        def one(text: str) -> str:
            return text.replace("?", placeholder)

        changes: dict[str, Any] = {
            f.name: one(getattr(self, f.name))
            for f in fields(self)
            if f.name not in ("placeholder", "list_objects")
        }
        listing = {k: one(v) for k, v in self.list_objects.items()}
        return replace(self, placeholder=placeholder, list_objects=listing, **changes)

    def objects_page(
        self, bucket: str, *, prefix: str, after: str, limit: int
    ) -> tuple[str, list[Any]]:
        """The ListObjects query and its parameters: keys starting with
        ``prefix`` and above ``after``, a range on the primary key."""
        upper = prefix_upper_bound(prefix)
        # One lower bound: ">= prefix" or "> after", whichever is tighter.
        incl = after < prefix
        params: list[Any] = [bucket, prefix if incl else after]
        if upper is not None:
            params.append(upper)
        params.append(limit)
        return self.list_objects[incl, upper is not None], params

    def uploads_page(
        self,
        bucket: str,
        *,
        prefix: str,
        key_marker: str,
        id_marker: tuple[str, Any] | None,
        limit: int,
    ) -> tuple[str, list[Any]]:
        """The ListMultipartUploads query and its parameters.

        ``id_marker`` is None when only ``key_marker`` bounds the page, else
        (upload id marker, that upload's ``initiated`` or None when it is
        gone): uploads of ``key_marker`` after the marker upload in
        (initiated, upload_id) order when it exists, else those with a
        greater upload id, as the S3 documentation states.
        """
        p = self.placeholder
        where = [f"bucket = {p}"]
        params: list[Any] = [bucket]
        if prefix:
            where.append(f"key >= {p}")
            params.append(prefix)
            upper = prefix_upper_bound(prefix)
            if upper is not None:
                where.append(f"key < {p}")
                params.append(upper)
        if key_marker and id_marker is not None:
            upload_id_marker, initiated = id_marker
            if initiated is not None:
                where.append(f"(key > {p} OR (key = {p} AND (initiated, upload_id) > ({p}, {p})))")
                params += [key_marker, key_marker, initiated, upload_id_marker]
            else:
                where.append(f"(key > {p} OR (key = {p} AND upload_id > {p}))")
                params += [key_marker, key_marker, upload_id_marker]
        elif key_marker:
            where.append(f"key > {p}")
            params.append(key_marker)
        params.append(limit)
        sql = (
            f"SELECT {UPLOAD_COLS} FROM uploads WHERE {' AND '.join(where)} "
            f"ORDER BY key, initiated, upload_id LIMIT {p}"
        )
        return sql, params


SQLITE = Queries()
POSTGRES = SQLITE.render("%s")


# -- IAM (the identity mixins) ------------------------------------------------

# A managed policy's columns in ``ManagedPolicy`` order, with how many users
# and groups it is attached to; the table is aliased ``p``.
POLICY_COLS = (
    "policy_id, name, path, document, description, created, updated, "
    "(SELECT count(*) FROM iam_user_attachments a WHERE a.policy_id = p.policy_id) + "
    "(SELECT count(*) FROM iam_group_attachments a WHERE a.policy_id = p.policy_id), "
    "default_version"
)
# ListPolicies OnlyAttached: a condition on ``p``.
ATTACHED_ONLY = (
    " AND (EXISTS (SELECT 1 FROM iam_user_attachments a WHERE a.policy_id = p.policy_id)"
    " OR EXISTS (SELECT 1 FROM iam_group_attachments a WHERE a.policy_id = p.policy_id))"
)
