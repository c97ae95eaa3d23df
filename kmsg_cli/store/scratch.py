"""A set of content keys too large to keep in memory: which row of this run first had each key.

send-many must notice a row that repeats an earlier row of the same file (docs/duplicates.md),
however long the file is. Up to `SPILL_AT` keys live in a dict; beyond that they move into a
private temporary SQLite database, which SQLite keeps in a file of its own and deletes when it is
closed, so a run of a million rows holds no more memory than a run of ten thousand. Nothing here
touches the user's database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

SPILL_AT = 20_000  # keys kept in memory before they move to the temporary database
_QUERY_CHUNK = 500  # keys per SELECT (well below SQLite's limit on parameters)


class FirstRows:
    """`first(pairs)`: for each (key, row), the row that first had the key (this row if new)."""

    def __init__(self, spill_at: int | None = None) -> None:
        self._memory: dict[str, int] | None = {}
        self._spill_at = SPILL_AT if spill_at is None else spill_at
        self._db: sqlite3.Connection | None = None

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def first(self, pairs: Sequence[tuple[str, int]]) -> list[int]:
        if self._memory is not None:
            memory = self._memory
            rows = [memory.setdefault(key, row) for key, row in pairs]
            if len(memory) > self._spill_at:
                self._spill(memory)
            return rows
        return self._first_on_disk(pairs)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._memory = {}

    def _spill(self, memory: dict[str, int]) -> None:
        # "" opens a private temporary database: on disk, removed when the connection closes
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1024")  # KiB: a small, fixed page cache
        db.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO seen (key, row) VALUES (?, ?)",
            ((bytes.fromhex(key), row) for key, row in memory.items()),
        )
        db.execute("COMMIT")
        self._db, self._memory = db, None

    def _first_on_disk(self, pairs: Sequence[tuple[str, int]]) -> list[int]:
        assert self._db is not None
        db = self._db
        wanted = list(dict.fromkeys(bytes.fromhex(key) for key, _ in pairs))
        known: dict[bytes, int] = {}
        for start in range(0, len(wanted), _QUERY_CHUNK):
            part = wanted[start : start + _QUERY_CHUNK]
            marks = ",".join("?" * len(part))
            known.update(db.execute(f"SELECT key, row FROM seen WHERE key IN ({marks})", part))
        new: list[tuple[bytes, int]] = []
        rows = []
        for key, row in pairs:
            raw = bytes.fromhex(key)
            first = known.get(raw)
            if first is None:
                known[raw] = first = row
                new.append((raw, row))
            rows.append(first)
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO seen (key, row) VALUES (?, ?)", new)
        db.execute("COMMIT")
        return rows
