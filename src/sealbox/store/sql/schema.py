"""Every table of the MetaStore, written once, and the ordered list of the
steps that build them (``STEPS``; ``migrate.py`` applies them).

Types are the tokens of ``dialect.Dialect.ddl``. ``STEPS[i]`` takes a
database from schema version ``i`` to ``i + 1``; the numbers are those
sealbox has always used (``PRAGMA user_version`` on SQLite, the
``sealbox_schema`` table on PostgreSQL), so existing data directories and
databases upgrade in place. A new table or column is a new step at the
end; a released step never changes (``tests/unit/store_schema_history.py``
holds what each one created, and the migration test checks that upgrading
from any of them gives the schema a new database gets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sealbox.store.access_version import EDGE_TABLES, LINK_TABLES
from sealbox.store.sql.dialect import Dialect

# -- version 1: buckets, objects, multipart uploads -----------------------------
_OBJECTS = (
    """CREATE TABLE buckets (
        name        {NAME} PRIMARY KEY,
        created     {TIME} NOT NULL,
        region      TEXT NOT NULL,
        owner       TEXT NOT NULL
    )""",
    """CREATE TABLE objects (
        bucket          {NAME} NOT NULL REFERENCES buckets (name),
        key             {NAME} NOT NULL,
        size            {BIG} NOT NULL,
        etag            TEXT NOT NULL,
        last_modified   {TIME} NOT NULL,
        segments        {JSON} NOT NULL,
        headers         {JSON},
        user_metadata   {JSON},
        tags            {JSON},
        checksums       {JSON},
        storage_class   TEXT NOT NULL,
        owner           TEXT NOT NULL,
        parts_count     INTEGER,
        PRIMARY KEY (bucket, key)
    )""",
    """CREATE TABLE uploads (
        upload_id           {NAME} PRIMARY KEY,
        bucket              {NAME} NOT NULL REFERENCES buckets (name),
        key                 {NAME} NOT NULL,
        initiated           {TIME} NOT NULL,
        headers             {JSON},
        user_metadata       {JSON},
        tags                {JSON},
        storage_class       TEXT NOT NULL,
        owner               TEXT NOT NULL,
        checksum_algorithm  TEXT
    )""",
    "CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated, upload_id)",
    """CREATE TABLE parts (
        upload_id       {NAME} NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
        part_number     INTEGER NOT NULL,
        size            {BIG} NOT NULL,
        etag            TEXT NOT NULL,
        last_modified   {TIME} NOT NULL,
        blob_id         TEXT NOT NULL,
        checksums       {JSON},
        PRIMARY KEY (upload_id, part_number)
    ){WITHOUT_ROWID}""",
)

# -- version 2: bucket-level documents (CORS, policy, ACL, …), one per
# (bucket, name), read by primary key on the hot path; gone with their bucket.
_BUCKET_SETTINGS = (
    """CREATE TABLE bucket_settings (
        bucket      {NAME} NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
        name        {NAME} NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (bucket, name)
    ){WITHOUT_ROWID}""",
)

# -- version 3: IAM users, access keys, groups and policies (sql/identity.py).
# Names are unique regardless of case through ``name_key``, the lower-cased
# name (IAM names are ASCII).
_IDENTITY = (
    """CREATE TABLE iam_users (
        user_id     {NAME} PRIMARY KEY,
        name        {NAME} NOT NULL,
        name_key    {NAME} NOT NULL UNIQUE,
        path        {NAME} NOT NULL,
        created     {TIME} NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE iam_groups (
        group_id    {NAME} PRIMARY KEY,
        name        {NAME} NOT NULL,
        name_key    {NAME} NOT NULL UNIQUE,
        path        {NAME} NOT NULL,
        created     {TIME} NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE iam_group_members (
        group_id    {NAME} NOT NULL REFERENCES iam_groups (group_id),
        user_id     {NAME} NOT NULL REFERENCES iam_users (user_id),
        PRIMARY KEY (group_id, user_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX iam_group_members_by_user ON iam_group_members (user_id, group_id)",
    """CREATE TABLE iam_access_keys (
        access_key_id   {NAME} PRIMARY KEY,
        user_id         {NAME} REFERENCES iam_users (user_id),
        secret          {BYTES} NOT NULL,
        active          {BOOL} NOT NULL,
        created         {TIME} NOT NULL
    ){WITHOUT_ROWID}""",
    "CREATE INDEX iam_access_keys_by_user ON iam_access_keys (user_id)",
    """CREATE TABLE iam_user_policies (
        user_id     {NAME} NOT NULL REFERENCES iam_users (user_id),
        name        {NAME} NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    ){WITHOUT_ROWID}""",
    """CREATE TABLE iam_group_policies (
        group_id    {NAME} NOT NULL REFERENCES iam_groups (group_id),
        name        {NAME} NOT NULL,
        document    TEXT NOT NULL,
        PRIMARY KEY (group_id, name)
    ){WITHOUT_ROWID}""",
    """CREATE TABLE iam_policies (
        policy_id       {NAME} PRIMARY KEY,
        name            {NAME} NOT NULL,
        name_key        {NAME} NOT NULL UNIQUE,
        path            {NAME} NOT NULL,
        document        TEXT NOT NULL,
        description     TEXT NOT NULL,
        default_version TEXT NOT NULL,
        created         {TIME} NOT NULL,
        updated         {TIME} NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE iam_user_attachments (
        user_id     {NAME} NOT NULL REFERENCES iam_users (user_id),
        policy_id   {NAME} NOT NULL REFERENCES iam_policies (policy_id),
        PRIMARY KEY (user_id, policy_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX iam_user_attachments_by_policy ON iam_user_attachments (policy_id)",
    """CREATE TABLE iam_group_attachments (
        group_id    {NAME} NOT NULL REFERENCES iam_groups (group_id),
        policy_id   {NAME} NOT NULL REFERENCES iam_policies (policy_id),
        PRIMARY KEY (group_id, policy_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX iam_group_attachments_by_policy ON iam_group_attachments (policy_id)",
)

# -- version 4: server-wide documents (the account's Block Public Access).
_SERVER_SETTINGS = (
    """CREATE TABLE server_settings (
        name        {NAME} PRIMARY KEY,
        document    TEXT NOT NULL
    ){WITHOUT_ROWID}""",
)

# -- version 5: CloudFront public keys, key groups, origin access controls,
# distributions and invalidations (sql/edge.py). A distribution's config is
# its JSON document as text, read whole, never queried inside.
_EDGE = (
    """CREATE TABLE cf_public_keys (
        id                  {NAME} PRIMARY KEY,
        name                {NAME} NOT NULL UNIQUE,
        encoded_key         TEXT NOT NULL,
        comment             TEXT NOT NULL,
        caller_reference    {NAME} NOT NULL UNIQUE,
        created             {TIME} NOT NULL,
        etag                TEXT NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_key_groups (
        id          {NAME} PRIMARY KEY,
        name        {NAME} NOT NULL UNIQUE,
        comment     TEXT NOT NULL,
        modified    {TIME} NOT NULL,
        etag        TEXT NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_key_group_keys (
        group_id    {NAME} NOT NULL REFERENCES cf_key_groups (id),
        key_id      {NAME} NOT NULL REFERENCES cf_public_keys (id),
        position    INTEGER NOT NULL,
        PRIMARY KEY (group_id, key_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX cf_key_group_keys_by_key ON cf_key_group_keys (key_id)",
    """CREATE TABLE cf_origin_access_controls (
        id                  {NAME} PRIMARY KEY,
        name                {NAME} NOT NULL UNIQUE,
        description         TEXT NOT NULL,
        signing_protocol    TEXT NOT NULL,
        signing_behavior    TEXT NOT NULL,
        origin_type         TEXT NOT NULL,
        etag                TEXT NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_distributions (
        id                  {NAME} PRIMARY KEY,
        domain_name         {NAME} NOT NULL UNIQUE,
        caller_reference    {NAME} NOT NULL UNIQUE,
        status              TEXT NOT NULL,
        modified            {TIME} NOT NULL,
        etag                TEXT NOT NULL,
        config              TEXT NOT NULL
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_hosts (
        host                {NAME} PRIMARY KEY,
        distribution_id     {NAME} NOT NULL REFERENCES cf_distributions (id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX cf_hosts_by_distribution ON cf_hosts (distribution_id)",
    """CREATE TABLE cf_distribution_key_groups (
        distribution_id     {NAME} NOT NULL REFERENCES cf_distributions (id),
        group_id            {NAME} NOT NULL REFERENCES cf_key_groups (id),
        PRIMARY KEY (distribution_id, group_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX cf_distribution_key_groups_by_group ON cf_distribution_key_groups (group_id)",
    """CREATE TABLE cf_distribution_oacs (
        distribution_id     {NAME} NOT NULL REFERENCES cf_distributions (id),
        oac_id              {NAME} NOT NULL REFERENCES cf_origin_access_controls (id),
        PRIMARY KEY (distribution_id, oac_id)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX cf_distribution_oacs_by_oac ON cf_distribution_oacs (oac_id)",
    """CREATE TABLE cf_invalidations (
        distribution_id     {NAME} NOT NULL REFERENCES cf_distributions (id),
        id                  {NAME} NOT NULL,
        paths               TEXT NOT NULL,
        caller_reference    {NAME} NOT NULL,
        status              TEXT NOT NULL,
        created             {TIME} NOT NULL,
        PRIMARY KEY (distribution_id, id),
        UNIQUE (distribution_id, caller_reference)
    ){WITHOUT_ROWID}""",
)


# -- version 8: managed links and revoked signatures (sealbox.links). Times
# are epoch seconds ({BIG}). A link's row changes only in ``uses`` (one
# conditional UPDATE per use), so ``links`` moves no access version;
# ``revocations`` does, so every node sees a revocation on its next request.
_LINKS = (
    """CREATE TABLE links (
        link_id         {NAME} PRIMARY KEY,
        access_key      {NAME} NOT NULL,
        signer          TEXT NOT NULL,
        bucket          {NAME} NOT NULL,
        key             {NAME} NOT NULL,
        method          TEXT NOT NULL,
        created         {BIG} NOT NULL,
        expires         {BIG} NOT NULL,
        max_uses        {BIG},
        uses            {BIG} NOT NULL,
        bind            TEXT NOT NULL,
        content_type    TEXT,
        max_size        {BIG},
        note            TEXT NOT NULL,
        fingerprint     {NAME} NOT NULL
    ){WITHOUT_ROWID}""",
    "CREATE INDEX links_by_bucket ON links (bucket, created)",
    "CREATE INDEX links_by_expiry ON links (expires)",
    """CREATE TABLE revocations (
        fingerprint     {NAME} PRIMARY KEY,
        until           {BIG} NOT NULL,
        kind            TEXT NOT NULL,
        link_id         {NAME}
    ){WITHOUT_ROWID}""",
    "CREATE INDEX revocations_by_expiry ON revocations (until)",
)


# -- version 9: the audit trail (sql/audit.py), one row per request, written in
# batches; read newest first, by time and by what a query names. No primary
# key: (time_ms, request_id) orders and pages it.
_AUDIT = (
    """CREATE TABLE audit_events (
        time_ms         {BIG} NOT NULL,
        request_id      {NAME} NOT NULL,
        operation       TEXT,
        bucket          {NAME},
        key             {NAME},
        principal       {NAME},
        access_key      {NAME},
        auth            TEXT,
        link_id         {NAME},
        signature_fp    TEXT,
        source_ip       TEXT,
        user_agent      TEXT,
        referer         TEXT,
        status          INTEGER NOT NULL,
        error_code      TEXT,
        reason          TEXT,
        bytes_sent      {BIG} NOT NULL,
        bytes_received  {BIG} NOT NULL,
        duration_ms     DOUBLE PRECISION NOT NULL,
        edge_cache      TEXT
    )""",
    "CREATE INDEX audit_events_by_time ON audit_events (time_ms, request_id)",
    "CREATE INDEX audit_events_by_object ON audit_events (bucket, key, time_ms)",
    "CREATE INDEX audit_events_by_key ON audit_events (access_key, time_ms)",
    "CREATE INDEX audit_events_by_link ON audit_events (link_id, time_ms)",
)

# -- version 10: the audit trail in batches (sql/audit.py, store/audit_batches.py):
# one row per writer batch, its events compressed JSON; ``audit_terms`` finds
# the batches that hold a link, key, principal, bucket or object key (64-bit
# hashes, one row per distinct value per batch). ``audit_events`` stays for
# the events version 9 wrote; nothing writes it any more.
_AUDIT_BATCHES = (
    """CREATE TABLE audit_batches (
        id      {BIG} PRIMARY KEY,
        min_ms  {BIG} NOT NULL,
        max_ms  {BIG} NOT NULL,
        events  INTEGER NOT NULL,
        body    {BYTES} NOT NULL
    )""",
    "CREATE INDEX audit_batches_by_time ON audit_batches (max_ms, id)",
    """CREATE TABLE audit_terms (
        term   {BIG} NOT NULL,
        batch  {BIG} NOT NULL,
        PRIMARY KEY (term, batch)
    ) {WITHOUT_ROWID}""",
    "CREATE INDEX audit_terms_by_batch ON audit_terms (batch)",
)

# -- version 11: the web console's sessions (sealbox.console; sql/sessions.py): the SHA-256
# of a random id, never the id; times in epoch seconds. ``seen`` is the idle
# expiry's clock, ``created`` the absolute one's.
_CONSOLE_SESSIONS = (
    """CREATE TABLE console_sessions (
        id_hash     {NAME} PRIMARY KEY,
        access_key  {NAME} NOT NULL,
        created     {BIG} NOT NULL,
        seen        {BIG} NOT NULL
    ){WITHOUT_ROWID}""",
    "CREATE INDEX console_sessions_by_seen ON console_sessions (seen)",
)


# -- version 12: the signature doctor's recent failed authentications ------------
_AUTH_FAILURES = (
    """CREATE TABLE auth_failures (
        request_id          {NAME} NOT NULL,
        time_ms             {BIG} NOT NULL,
        access_key          {NAME} NOT NULL,
        error_code          TEXT NOT NULL,
        reason              TEXT,
        method              TEXT NOT NULL,
        scheme              TEXT NOT NULL,
        host                TEXT NOT NULL,
        raw_path            TEXT NOT NULL,
        raw_query           TEXT NOT NULL,
        headers             TEXT NOT NULL,
        client_ip           TEXT,
        canonical_request   TEXT,
        string_to_sign      TEXT
    )""",
    "CREATE INDEX auth_failures_by_id ON auth_failures (request_id)",
    "CREATE INDEX auth_failures_by_key ON auth_failures (access_key, time_ms)",
    "CREATE INDEX auth_failures_by_time ON auth_failures (time_ms)",
)

# -- version 13: versioning (store/sql/versions.py): ``objects`` stays the current version
# of each key, so the presigned GET's lookup is still one primary-key read; a
# NULL ``version_id`` there is the null version (every row from before).
# ``object_versions`` holds the noncurrent versions and every delete marker
# (a key whose newest entry is a marker has no ``objects`` row), ordered
# within a key by ``seq``, newest highest; the null version's id is 'null'.
_VERSIONS = (
    "ALTER TABLE objects ADD COLUMN version_id {NAME}",
    """CREATE TABLE object_versions (
        bucket          {NAME} NOT NULL REFERENCES buckets (name),
        key             {NAME} NOT NULL,
        size            {BIG} NOT NULL,
        etag            TEXT NOT NULL,
        last_modified   {TIME} NOT NULL,
        segments        {JSON} NOT NULL,
        headers         {JSON},
        user_metadata   {JSON},
        tags            {JSON},
        checksums       {JSON},
        storage_class   TEXT NOT NULL,
        owner           TEXT NOT NULL,
        parts_count     INTEGER,
        version_id      {NAME} NOT NULL,
        delete_marker   {BOOL} NOT NULL,
        seq             {BIG} NOT NULL,
        PRIMARY KEY (bucket, key, version_id)
    )""",
    "CREATE INDEX object_versions_by_seq ON object_versions (bucket, key, seq DESC)",
)

# -- object lock (api/s3/object_lock.py, store/meta.ObjectRecord.locked): each
# version's retention (mode, retain-until) and legal hold, where the version
# is (``objects`` or ``object_versions``), so a version carries them when it
# is pushed down and every statement that removes it sees them; an upload
# holds the ones CreateMultipartUpload asked for. A NULL ``legal_hold`` was
# never set (GetObjectLegalHold answers NoSuchObjectLockConfiguration).
_OBJECT_LOCK = tuple(
    f"ALTER TABLE {table} ADD COLUMN {column}"
    for table in ("objects", "object_versions", "uploads")
    for column in ("lock_mode TEXT", "lock_until {TIME}", "legal_hold {BOOL}")
)

# -- encryption at rest (store/data_keys.py, store/sealed_chunks.py): how a
# version's bytes are sealed (kind, wrapped data key, SSE-C key check: JSON,
# NULL for bytes kept as sent), the same for a multipart upload, and each
# part's nonce prefix (a segment's is in the ``segments`` JSON).
_SEALING = (
    "ALTER TABLE objects ADD COLUMN sealing {JSON}",
    "ALTER TABLE object_versions ADD COLUMN sealing {JSON}",
    "ALTER TABLE uploads ADD COLUMN sealing {JSON}",
    "ALTER TABLE parts ADD COLUMN nonce TEXT",
)

# -- the backend's multipart uploads under way (store/sql/blob_uploads.py): one
# row from before a blob's first part reaches an S3 backend until the upload
# completes or is aborted; a row left by a killed node tells the sweeper
# which incomplete upload to abort.
_BLOB_UPLOADS = (
    """CREATE TABLE blob_uploads (
        bucket          {NAME} NOT NULL,
        backend_key     {NAME} NOT NULL,
        node_id         TEXT NOT NULL,
        started         {BIG} NOT NULL,
        PRIMARY KEY (bucket, backend_key)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX blob_uploads_by_started ON blob_uploads (bucket, started)",
)

# -- the blob sweep's lease and cursor (store/sql/blob_sweep.py): one row per blob
# store; whoever holds the lease sweeps one page of the store's listing and
# leaves the cursor for the next holder.
_BLOB_SWEEP = (
    """CREATE TABLE blob_sweep (
        store           {NAME} NOT NULL PRIMARY KEY,
        holder          TEXT NOT NULL,
        lease_until     {BIG} NOT NULL,
        cursor          {NAME} NOT NULL,
        pass_finished   {BIG} NOT NULL
    ){WITHOUT_ROWID}""",
)

# -- accounts (issue 17): every IAM user, group, policy and access key belongs
# to one account; what existed before belongs to the first, 000000000000
# (``auth.principal.ACCOUNT_ID``), named "main". ``name_key`` becomes
# "<account>/<lower-cased name>" (``store.identity.name_key``), so its unique
# index holds names unique per account. A bucket's account is that of its
# owner's ARN, which buckets already keep.
_FIRST = "'000000000000'"
_ACCOUNTS = (
    """CREATE TABLE accounts (
        account_id  {NAME} PRIMARY KEY,
        name        {NAME} NOT NULL UNIQUE,
        created     {TIME}
    ){WITHOUT_ROWID}""",
    f"INSERT INTO accounts (account_id, name, created) VALUES ({_FIRST}, 'main', NULL)",
    *(f"ALTER TABLE {table} ADD COLUMN account_id {{NAME}} NOT NULL DEFAULT {_FIRST}"
      for table in ("iam_users", "iam_groups", "iam_policies", "iam_access_keys")),
    *(f"UPDATE {table} SET name_key = {_FIRST} || '/' || name_key"
      for table in ("iam_users", "iam_groups", "iam_policies")),
    "CREATE INDEX iam_access_keys_by_account ON iam_access_keys (account_id, user_id)",
)

# -- the edge's configuration per account (issue 17): public keys, key groups,
# origin access controls and distributions belong to the account that made
# them (what existed before, to the first), and their names and caller
# references are unique per account, as on AWS (domain names stay global).
# Key group members, hosts, invalidations and references follow their key
# group or distribution. PostgreSQL changes the constraints in place;
# SQLite cannot drop a column's UNIQUE, so it rebuilds the four tables
# (``_sqlite_edge_accounts``).
_EDGE_OWNED = {  # table: its per-account unique columns
    "cf_public_keys": ("name", "caller_reference"),
    "cf_key_groups": ("name",),
    "cf_origin_access_controls": ("name",),
    "cf_distributions": ("caller_reference",),
}
# The tables whose foreign keys name the four (emptied and refilled around
# SQLite's rebuild, so no drop leaves a row without its parent).
_EDGE_CHILDREN = ("cf_key_group_keys", "cf_hosts", "cf_distribution_key_groups",
                  "cf_distribution_oacs", "cf_invalidations")
_EDGE_REBUILT = (
    """CREATE TABLE cf_public_keys_next (
        id                  {NAME} PRIMARY KEY,
        name                {NAME} NOT NULL,
        encoded_key         TEXT NOT NULL,
        comment             TEXT NOT NULL,
        caller_reference    {NAME} NOT NULL,
        created             {TIME} NOT NULL,
        etag                TEXT NOT NULL,
        account_id          {NAME} NOT NULL DEFAULT '000000000000',
        UNIQUE (account_id, name),
        UNIQUE (account_id, caller_reference)
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_key_groups_next (
        id          {NAME} PRIMARY KEY,
        name        {NAME} NOT NULL,
        comment     TEXT NOT NULL,
        modified    {TIME} NOT NULL,
        etag        TEXT NOT NULL,
        account_id  {NAME} NOT NULL DEFAULT '000000000000',
        UNIQUE (account_id, name)
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_origin_access_controls_next (
        id                  {NAME} PRIMARY KEY,
        name                {NAME} NOT NULL,
        description         TEXT NOT NULL,
        signing_protocol    TEXT NOT NULL,
        signing_behavior    TEXT NOT NULL,
        origin_type         TEXT NOT NULL,
        etag                TEXT NOT NULL,
        account_id          {NAME} NOT NULL DEFAULT '000000000000',
        UNIQUE (account_id, name)
    ){WITHOUT_ROWID}""",
    """CREATE TABLE cf_distributions_next (
        id                  {NAME} PRIMARY KEY,
        domain_name         {NAME} NOT NULL UNIQUE,
        caller_reference    {NAME} NOT NULL,
        status              TEXT NOT NULL,
        modified            {TIME} NOT NULL,
        etag                TEXT NOT NULL,
        config              TEXT NOT NULL,
        account_id          {NAME} NOT NULL DEFAULT '000000000000',
        UNIQUE (account_id, caller_reference)
    ){WITHOUT_ROWID}""",
)


def _sqlite_edge_accounts(d: Dialect) -> tuple[str, ...]:
    """SQLite's rebuild, inside the migration's transaction (foreign keys
    on): the children's rows are set aside and deleted, each owned table is
    copied into its new shape, dropped (nothing references a row of it any
    more) and replaced by the copy under its name (its children's
    ``REFERENCES`` name it, not the copy), its access triggers made again,
    and the children's rows put back."""
    out = [d.ddl(t) for t in _EDGE_REBUILT]
    for child in _EDGE_CHILDREN:
        out += [f"CREATE TEMP TABLE {child}_kept AS SELECT * FROM {child}",
                f"DELETE FROM {child}"]
    for table in _EDGE_OWNED:
        out += [f"INSERT INTO {table}_next SELECT *, {_FIRST} FROM {table}",
                f"DROP TABLE {table}",
                f"ALTER TABLE {table}_next RENAME TO {table}",
                *d.access_triggers((table,))]
    for child in _EDGE_CHILDREN:
        out += [f"INSERT INTO {child} SELECT * FROM {child}_kept", f"DROP TABLE {child}_kept"]
    return tuple(out)


def _postgres_edge_accounts(d: Dialect) -> tuple[str, ...]:
    """PostgreSQL's: a column and the unique constraints, in place (the old
    ones have PostgreSQL's default names, ``<table>_<column>_key``)."""
    out: list[str] = []
    for table, columns in _EDGE_OWNED.items():
        out.append(d.ddl(f"ALTER TABLE {table} ADD COLUMN account_id {{NAME}} NOT NULL "
                         f"DEFAULT {_FIRST}"))
        for column in columns:
            out += [f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_key",
                    f"ALTER TABLE {table} ADD CONSTRAINT {table}_account_{column}_key "
                    f"UNIQUE (account_id, {column})"]
    return tuple(out)


def _edge_accounts(d: Dialect) -> tuple[str, ...]:
    return _sqlite_edge_accounts(d) if d.name == "sqlite" else _postgres_edge_accounts(d)


# -- KMS keys (issue 17, SSE-KMS; store/kms_keys.py, store/sql/kms_keys.py): an
# account's keys, their material encrypted by the keyring (BYTES, as access
# keys' secrets), and their aliases, unique per account. An object's KMS key
# and encryption context are kept in its ``sealing`` column, beside its
# wrapped data key, so no object table changes.
_KMS_KEYS = (
    """CREATE TABLE kms_keys (
        key_id          {NAME} PRIMARY KEY,
        account_id      {NAME} NOT NULL,
        region          TEXT NOT NULL,
        description     TEXT NOT NULL,
        state           TEXT NOT NULL,
        created         {TIME} NOT NULL,
        material        {BYTES} NOT NULL
    ){WITHOUT_ROWID}""",
    "CREATE INDEX kms_keys_by_account ON kms_keys (account_id, created, key_id)",
    """CREATE TABLE kms_aliases (
        account_id      {NAME} NOT NULL,
        alias           {NAME} NOT NULL,
        key_id          {NAME} NOT NULL REFERENCES kms_keys (key_id),
        PRIMARY KEY (account_id, alias)
    ){WITHOUT_ROWID}""",
    "CREATE INDEX kms_aliases_by_key ON kms_aliases (key_id)",
)


def _tables(*texts: str) -> Callable[[Dialect], tuple[str, ...]]:
    def render(d: Dialect) -> tuple[str, ...]:
        return tuple(d.ddl(t) for t in texts)

    return render


@dataclass(frozen=True, slots=True)
class Step:
    """One schema version: its name and its statements in a dialect."""

    name: str
    statements: Callable[[Dialect], tuple[str, ...]]


STEPS: tuple[Step, ...] = (
    Step("buckets, objects, uploads, parts", _tables(*_OBJECTS)),
    Step("bucket settings", _tables(*_BUCKET_SETTINGS)),
    Step("IAM users, keys, groups, policies", _tables(*_IDENTITY)),
    Step("server settings", _tables(*_SERVER_SETTINGS)),
    Step("CloudFront configuration", _tables(*_EDGE)),
    # The access version and the triggers that move it (access_version.py).
    Step("access version", lambda d: d.access_schema()),
    # The edge's configuration moves the access version too.
    Step("edge moves the access version", lambda d: d.access_triggers(EDGE_TABLES)),
    Step("managed links and revocations",
         lambda d: (*_tables(*_LINKS)(d), *d.access_triggers(LINK_TABLES))),
    Step("audit trail", _tables(*_AUDIT)),
    Step("audit trail in batches", _tables(*_AUDIT_BATCHES)),
    # The web console's sessions (issue 18).
    Step("console sessions", _tables(*_CONSOLE_SESSIONS)),
    # The signature doctor: recent failed authentications (store/sql/auth_failures.py).
    Step("recent failed authentications", _tables(*_AUTH_FAILURES)),
    # Versioning: objects.version_id and the object_versions table.
    Step("object versions", _tables(*_VERSIONS)),
    # Object lock: retention and legal hold per version and per upload.
    Step("object lock", _tables(*_OBJECT_LOCK)),
    # Encryption at rest (issue 17): sealing columns, parts' nonces.
    Step("encryption at rest", _tables(*_SEALING)),
    # The S3 blob backend's multipart uploads under way (store/sql/blob_uploads.py).
    Step("backend multipart uploads", _tables(*_BLOB_UPLOADS)),
    # The blob sweep: one holder at a time, a page per tick (store/sql/blob_sweep.py).
    Step("blob sweep lease and cursor", _tables(*_BLOB_SWEEP)),
    # Managed links naming a version (issue 16): links.version_id.
    Step("links naming a version", _tables("ALTER TABLE links ADD COLUMN version_id {NAME}")),
    # Accounts (issue 17): the accounts table; IAM rows scoped to an account.
    Step("accounts", _tables(*_ACCOUNTS)),
    # The edge per account (issue 17): the CloudFront configuration's owners.
    Step("edge per account", _edge_accounts),
    # SSE-KMS (issue 17): KMS keys and their aliases, per account.
    Step("kms keys", _tables(*_KMS_KEYS)),
)
SCHEMA_VERSION = len(STEPS)
