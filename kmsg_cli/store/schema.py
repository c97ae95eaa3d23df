"""The DDL of `kmsg_delivery_tracking` and `kmsg_jobs` for SQLite, PostgreSQL and MySQL.

SQLite output is exactly what `@k-msg/messaging`'s generator emits (docs/storage.md, "Tables"),
so databases shared with the original tool keep working. Two deliberate deviations:

- PostgreSQL: the six short-text tracking columns (`type`, `to`, `from`, `status`,
  `provider_status_code`, `provider_status_message`) are TEXT, not VARCHAR(64): a vendor's status
  message is often longer than 64 characters (a Korean one easily), and VARCHAR(64) would make
  Postgres reject the whole batch it is written in. This is the generator's own documented
  `typeStrategy: {shortText: "text"}` output; column names, order, nullability, BIGINT times,
  JSONB and index names are unchanged. `PostgresStore.initialize` widens such columns of an
  existing reference-built table the same way (VARCHAR -> TEXT needs no table rewrite).
- MySQL/MariaDB: key and indexed id columns are VARCHAR sized for every id kmsg writes (ids
  of at most 200 characters plus suffixes such as `:api-fallback`), because MySQL rejects TEXT
  keys; the JSON columns and the provider's status code and message are TEXT (the reference's
  JSON type is an alias of LONGTEXT on MariaDB, and VARCHAR(64) would refuse a long status
  message); tables are utf8mb4 with a binary collation, so ids compare byte by byte as on SQLite.
"""

from typing import Literal, NamedTuple

from kmsg_cli.models import DeliveryStatus, JobStatus

SCHEMA_VERSION = 1

Dialect = Literal["sqlite", "postgres", "mysql"]

TRACKING_TABLE = "kmsg_delivery_tracking"
JOBS_TABLE = "kmsg_jobs"
VERSION_TABLE = "kmsg_schema_version"


class _Column(NamedTuple):
    name: str
    sqlite: str
    postgres: str
    mysql: str
    constraint: str = ""

    def type_for(self, dialect: Dialect) -> str:
        if dialect == "sqlite":
            return self.sqlite
        if dialect == "postgres":
            return self.postgres
        return self.mysql


_PK = "PRIMARY KEY"
_NN = "NOT NULL"

# Column order, types and constraints follow the reference DDL line by line.
_TRACKING_COLUMNS: tuple[_Column, ...] = (
    _Column("message_id", "TEXT", "TEXT", "VARCHAR(255)", _PK),
    _Column("provider_id", "TEXT", "TEXT", "VARCHAR(255)", _NN),
    _Column("provider_message_id", "TEXT", "TEXT", "VARCHAR(255)", _NN),
    _Column("type", "TEXT", "TEXT", "VARCHAR(64)", _NN),
    _Column("to", "TEXT", "TEXT", "VARCHAR(64)", _NN),
    _Column("from", "TEXT", "TEXT", "VARCHAR(64)"),
    _Column("status", "TEXT", "TEXT", "VARCHAR(64)", _NN),
    _Column("provider_status_code", "TEXT", "TEXT", "TEXT"),
    _Column("provider_status_message", "TEXT", "TEXT", "TEXT"),
    _Column("sent_at", "INTEGER", "BIGINT", "BIGINT"),
    _Column("delivered_at", "INTEGER", "BIGINT", "BIGINT"),
    _Column("failed_at", "INTEGER", "BIGINT", "BIGINT"),
    _Column("requested_at", "INTEGER", "BIGINT", "BIGINT", _NN),
    _Column("scheduled_at", "INTEGER", "BIGINT", "BIGINT"),
    _Column("status_updated_at", "INTEGER", "BIGINT", "BIGINT", _NN),
    _Column("attempt_count", "INTEGER", "INTEGER", "INTEGER", "NOT NULL DEFAULT 0"),
    _Column("last_checked_at", "INTEGER", "BIGINT", "BIGINT"),
    _Column("next_check_at", "INTEGER", "BIGINT", "BIGINT", _NN),
    _Column("last_error", "TEXT", "JSONB", "TEXT"),
    _Column("metadata", "TEXT", "JSONB", "TEXT"),
)

# The reference jobs DDL says BIGINT for the times even on SQLite; kept as documented.
_JOB_COLUMNS: tuple[_Column, ...] = (
    _Column("id", "TEXT", "TEXT", "VARCHAR(255)", _PK),
    _Column("type", "TEXT", "TEXT", "VARCHAR(128)", _NN),
    _Column("data", "TEXT", "JSONB", "TEXT", _NN),
    _Column("status", "TEXT", "TEXT", "VARCHAR(32)", "NOT NULL DEFAULT 'pending'"),
    _Column("priority", "INTEGER", "INTEGER", "INTEGER", "NOT NULL DEFAULT 0"),
    _Column("attempts", "INTEGER", "INTEGER", "INTEGER", "NOT NULL DEFAULT 0"),
    _Column("max_attempts", "INTEGER", "INTEGER", "INTEGER", "NOT NULL DEFAULT 3"),
    _Column("delay", "INTEGER", "INTEGER", "INTEGER", "NOT NULL DEFAULT 0"),
    _Column("created_at", "BIGINT", "BIGINT", "BIGINT", _NN),
    _Column("process_at", "BIGINT", "BIGINT", "BIGINT", _NN),
    _Column("completed_at", "BIGINT", "BIGINT", "BIGINT"),
    _Column("failed_at", "BIGINT", "BIGINT", "BIGINT"),
    _Column("error", "TEXT", "TEXT", "TEXT"),
    _Column("metadata", "TEXT", "JSONB", "TEXT"),
)

# (index name, table, columns), in the order the reference generator emits them.
_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("idx_kmsg_delivery_due", TRACKING_TABLE, ("status", "next_check_at")),
    ("idx_kmsg_delivery_provider_msg", TRACKING_TABLE, ("provider_id", "provider_message_id")),
    ("idx_kmsg_delivery_requested_at", TRACKING_TABLE, ("requested_at",)),
    ("idx_kmsg_jobs_dequeue", JOBS_TABLE, ("status", "priority", "process_at", "created_at")),
    ("idx_kmsg_jobs_id", JOBS_TABLE, ("id",)),
)

TRACKING_COLUMNS: tuple[str, ...] = tuple(column.name for column in _TRACKING_COLUMNS)
JOB_COLUMNS: tuple[str, ...] = tuple(column.name for column in _JOB_COLUMNS)

# Postgres columns created as TEXT where the reference generator's default says VARCHAR(64).
POSTGRES_WIDENED_COLUMNS: tuple[str, ...] = (
    "type",
    "to",
    "from",
    "status",
    "provider_status_code",
    "provider_status_message",
)

_POSTGRES_NOTE = "\n".join(
    (
        '-- Deviation from the reference Postgres DDL: the short-text tracking columns "type",',
        '-- "to", "from", "status", "provider_status_code" and "provider_status_message" are',
        "-- TEXT, not VARCHAR(64), so that long vendor status messages are kept whole",
        "-- (VARCHAR(64) would reject them). This is the reference generator's own typeStrategy",
        '-- {shortText: "text"} output: column names, order and nullability, BIGINT times, the',
        "-- JSON column types and index names are as documented. kmsg widens the VARCHAR(64)",
        "-- columns of a table created by the reference DDL to TEXT when it opens it.",
    )
)

_MYSQL_NOTE = "\n".join(
    (
        "-- Deviations from the reference MySQL DDL: key and indexed id columns are VARCHAR(255)",
        "-- (not TEXT) because MySQL rejects TEXT keys without a prefix length. JSON columns are",
        "-- TEXT holding JSON text, not the JSON type (on MariaDB JSON is only an alias of",
        "-- LONGTEXT; one type for both servers), and provider_status_code/_message are TEXT so",
        "-- a long vendor status message is kept whole. Tables are utf8mb4 (Korean text and emoji)",
        "-- with a binary collation: ids compare byte by byte, as on SQLite and PostgreSQL. kmsg",
        "-- itself picks the NO PAD binary collation where the server has one (utf8mb4_0900_bin",
        "-- on MySQL 8, utf8mb4_nopad_bin on MariaDB), so trailing spaces stay significant.",
    )
)

MYSQL_COLLATION = "utf8mb4_bin"


def mysql_collation(server_version: str) -> str:
    """The binary utf8mb4 collation kmsg gives its tables on a server of this version: NO PAD
    (trailing spaces significant, as on SQLite) where the server has one."""
    if "mariadb" in server_version.lower():
        return "utf8mb4_nopad_bin"
    major = server_version.split(".", 1)[0]
    return "utf8mb4_0900_bin" if major.isdigit() and int(major) >= 8 else MYSQL_COLLATION


def _mysql_options(collation: str) -> str:
    return f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"


def quote(identifier: str, dialect: Dialect) -> str:
    """Quote an identifier: backticks for MySQL, double quotes otherwise."""
    if dialect == "mysql":
        return "`" + identifier.replace("`", "``") + "`"
    return '"' + identifier.replace('"', '""') + '"'


def _create_table(table: str, columns: tuple[_Column, ...], dialect: Dialect) -> str:
    lines = []
    for column in columns:
        parts = [quote(column.name, dialect), column.type_for(dialect)]
        if column.constraint:
            parts.append(column.constraint)
        lines.append("  " + " ".join(parts))
    body = ",\n".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {quote(table, dialect)} (\n{body}\n)"


def table_statements(dialect: Dialect, *, collation: str = MYSQL_COLLATION) -> list[str]:
    """CREATE TABLE statements without ';': tracking, jobs, and the servers' version table
    (MySQL tables in utf8mb4 with the binary `collation`)."""
    statements = [
        _create_table(TRACKING_TABLE, _TRACKING_COLUMNS, dialect),
        _create_table(JOBS_TABLE, _JOB_COLUMNS, dialect),
    ]
    if dialect != "sqlite":
        # SQLite keeps the version in PRAGMA user_version; the servers have no such slot.
        version = quote(VERSION_TABLE, dialect)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {version} ({quote('version', dialect)} INTEGER NOT NULL)"
        )
    if dialect == "mysql":
        statements = [statement + _mysql_options(collation) for statement in statements]
    return statements


def index_statements(dialect: Dialect) -> list[str]:
    """CREATE INDEX statements (no trailing ';'); MySQL has no IF NOT EXISTS for indexes."""
    create = "CREATE INDEX" if dialect == "mysql" else "CREATE INDEX IF NOT EXISTS"
    statements = []
    for name, table, columns in _INDEXES:
        column_list = ", ".join(quote(column, dialect) for column in columns)
        statements.append(
            f"{create} {quote(name, dialect)} ON {quote(table, dialect)} ({column_list})"
        )
    return statements


def ddl_statements(dialect: Dialect, *, collation: str = MYSQL_COLLATION) -> list[str]:
    """All statements, tables first and then indexes, as the reference generator orders them."""
    return table_statements(dialect, collation=collation) + index_statements(dialect)


STATE_TABLE = "kmsg_state"
CACHE_TABLE = "kmsg_cache"


CONTENT_KEYS_TABLE = "kmsg_content_keys"
CONTENT_KEY_COLUMNS: tuple[str, ...] = ("content_key", "message_id", "created_at")


def state_statements(dialect: Dialect, *, collation: str = MYSQL_COLLATION) -> list[str]:
    """kmsg's own tables (not part of the @k-msg schema), shared by every process using the
    database: `kmsg_state`, named counters (e.g. the round-robin position of a routing list);
    `kmsg_cache`, short-lived cached values with their expiry in epoch ms (e.g. a vendor's API
    token); and `kmsg_content_keys`, the content key of every message that entered the ledger,
    looked up by key to skip repeats within the duplicate window (docs/duplicates.md)."""
    key = "VARCHAR(255)" if dialect == "mysql" else "TEXT"
    digest = "VARCHAR(64)" if dialect == "mysql" else "TEXT"
    name, value = quote("name", dialect), quote("value", dialect)
    content, message, created = (quote(c, dialect) for c in CONTENT_KEY_COLUMNS)
    expires = quote("expires_at", dialect)
    options = _mysql_options(collation) if dialect == "mysql" else ""
    return [
        f"CREATE TABLE IF NOT EXISTS {quote(STATE_TABLE, dialect)} "
        f"({name} {key} PRIMARY KEY, {value} BIGINT NOT NULL){options}",
        f"CREATE TABLE IF NOT EXISTS {quote(CONTENT_KEYS_TABLE, dialect)} "
        f"({content} {digest} NOT NULL, {message} {key} PRIMARY KEY, {created} BIGINT NOT NULL, "
        # the lookup's index (by key, then time), declared inline: MySQL has no CREATE INDEX
        # IF NOT EXISTS
        f"UNIQUE ({content}, {created}, {message})){options}",
        f"CREATE TABLE IF NOT EXISTS {quote(CACHE_TABLE, dialect)} "
        f"({name} {key} PRIMARY KEY, {value} TEXT NOT NULL, {expires} BIGINT NOT NULL){options}",
    ]


BATCH_INDEX = "idx_kmsg_jobs_batch"
BATCH_COLUMN = "kmsg_batch"  # MySQL/MariaDB only: the generated column the index is on
BATCH_KEY_LENGTH = 255


def batch_index_statement(dialect: Dialect) -> str:
    """kmsg's own index on `kmsg_jobs`, by `metadata.batch`, so that what a batch's commands
    read (its counts, its failed jobs, its report) costs the batch's size, not the history's.

    SQLite and PostgreSQL index the expression that the dialect's `in_batch` writes (an index
    on an expression serves only that expression). MySQL and MariaDB index a virtual
    generated column instead (MariaDB has no index on an expression): `kmsg_batch`, the
    batch as text, computed from `metadata` and stored only in the index."""
    metadata = quote("metadata", dialect)
    table, index = quote(JOBS_TABLE, dialect), quote(BATCH_INDEX, dialect)
    if dialect == "sqlite":
        key = f"CASE WHEN json_valid({metadata}) THEN json_extract({metadata}, '$.batch') END"
    elif dialect == "postgres":
        key = f"({metadata} -> 'batch')"
    else:
        value = f"JSON_UNQUOTE(JSON_EXTRACT({metadata}, '$.batch'))"
        text = f"LEFT(CASE WHEN JSON_VALID({metadata}) THEN {value} END, {BATCH_KEY_LENGTH})"
        column = quote(BATCH_COLUMN, dialect)
        return (
            f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR({BATCH_KEY_LENGTH}) "
            f"AS ({text}) VIRTUAL, ADD INDEX {index} ({column})"
        )
    return f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({key})"


def _status_notes() -> list[str]:
    """Header lines naming the values of the two status columns (docs/storage.md)."""
    jobs = " | ".join(status.value for status in JobStatus)
    tracking = " | ".join(status.value for status in DeliveryStatus)
    return [f"-- {JOBS_TABLE}.status: {jobs}", f"-- {TRACKING_TABLE}.status: {tracking}"]


def ddl_text(dialect: Dialect) -> str:
    """The DDL as a script: header comments, then ';'-terminated statements between blank lines.

    No trailing newline, so printing it adds exactly one.
    """
    header = [f"-- kmsg schema version {SCHEMA_VERSION} ({dialect})"]
    if dialect == "mysql":
        header.append(_MYSQL_NOTE)
    elif dialect == "postgres":
        header.append(_POSTGRES_NOTE)
    header += _status_notes()
    statements = [statement + ";" for statement in ddl_statements(dialect)]
    state = (
        "-- kmsg's own tables, beside the documented ones: counters and cached values shared"
        "\n-- by processes, and the content keys of sent messages (the duplicate window)"
    )
    statements += [state] + [statement + ";" for statement in state_statements(dialect)]
    batch_index = batch_index_statement(dialect) + ";"
    statements += ["-- kmsg's own index of the jobs, by batch", batch_index]
    return "\n".join(header) + "\n\n" + "\n\n".join(statements)


# The index names, in the order `index_statements` creates them (`kmsg db check` looks for them).
INDEX_NAMES: tuple[str, ...] = tuple(name for name, _table, _columns in _INDEXES)
STATE_COLUMNS: tuple[str, ...] = ("name", "value")
