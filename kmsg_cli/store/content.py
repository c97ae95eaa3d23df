"""Content keys in the store: recorded with every job, looked up to skip repeats.

`kmsg_content_keys` (kmsg's own table) holds one row per message that entered the ledger:
its content key, its id and when. A lookup joins the job and the tracking row of each earlier
message, so the caller sees whether it was accepted, is in flight, queued or unknown
(docs/duplicates.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kmsg_cli.models import CONTENT_KEY, ContentMatch, Job, TrackingRow
from kmsg_cli.store.dialect import q
from kmsg_cli.store.rows import chunked
from kmsg_cli.store.schema import CONTENT_KEY_COLUMNS, CONTENT_KEYS_TABLE
from kmsg_cli.store.session import JOBS, PENDING, TRACKING, Session, SqlBase

CONTENT_KEYS = q(CONTENT_KEYS_TABLE)


def key_rows(items: Iterable[Job | TrackingRow]) -> list[dict[str, Any]]:
    """The `kmsg_content_keys` rows (column name -> value) of the jobs or tracking rows that
    carry a content key."""
    rows = []
    for item in items:
        key = (item.metadata or {}).get(CONTENT_KEY)
        if isinstance(key, str) and key:
            if isinstance(item, Job):
                rows.append(
                    {"content_key": key, "message_id": item.id, "created_at": item.created_at}
                )
            else:
                rows.append(
                    {
                        "content_key": key,
                        "message_id": item.message_id,
                        "created_at": item.requested_at,
                    }
                )
    return rows


class ContentKeys(SqlBase):
    """The content-key part of `SqlStore`."""

    def _record_keys(self, s: Session, items: Iterable[Job | TrackingRow]) -> None:
        """Record the content keys of `items` inside the caller's transaction."""
        rows = key_rows(items)
        if rows:
            sql = self.dialect.insert_ignore(
                CONTENT_KEYS_TABLE, CONTENT_KEY_COLUMNS, "message_id", ()
            )
            s.executemany(sql, rows)

    def content_matches(
        self, keys: Sequence[str], *, since_ms: int
    ) -> dict[str, list[ContentMatch]]:
        """Earlier messages by content key, recorded at or after `since_ms`."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        d, p = self.dialect, self.dialect.p
        select = (
            f'SELECT k."content_key", k."message_id", k."created_at", j."status", '
            f'{d.error_code("j." + q("error"))}, t."requested_at", j."completed_at" '
            f"FROM {CONTENT_KEYS} k "
            f'LEFT JOIN {JOBS} j ON j."id" = k."message_id" '
            f'LEFT JOIN {TRACKING} t ON t."message_id" = k."message_id" '
            f'WHERE k."created_at" >= {p("since")} AND k."content_key" IN'
        )

        def work(s: Session) -> list[Sequence[Any]]:
            rows: list[Sequence[Any]] = []
            for chunk in chunked(unique):
                marks, params = self._ids_in("c", chunk)
                rows += s.execute(f"{select} {marks}", {"since": since_ms, **params}).rows
            return rows

        found: dict[str, list[ContentMatch]] = {}
        for row in self._run(work):
            match = ContentMatch(
                content_key=str(row[0]),
                message_id=str(row[1]),
                created_at=int(row[2]),
                job_status=None if row[3] is None else str(row[3]),
                job_error_code=None if row[4] is None else str(row[4]),
                tracked_at=None if row[5] is None else int(row[5]),
                completed_at=None if row[6] is None else int(row[6]),
            )
            found.setdefault(match.content_key, []).append(match)
        return found

    def adopt_jobs(self, moves: Mapping[str, tuple[str, int, int | None]]) -> set[str]:
        """Move still-pending jobs into another batch (job id -> (batch, row, line: None when
        unknown)), one transaction; returns the ids moved. A job claimed meanwhile is not moved:
        it is being sent."""
        if not moves:
            return set()
        d, p = self.dialect, self.dialect.p
        moved = d.json_set(
            d.json_set(
                d.json_set(q("metadata"), "batch", d.json_value(p("batch"))),
                "row",
                d.json_int(p("row")),
            ),
            "line",
            d.json_value(p("line")),  # JSON text: null where the new file's line is unknown
        )
        sql = (
            f'UPDATE {JOBS} SET "metadata" = {moved} '
            f'WHERE "id" = {p("id")} AND "status" = {p("pending")}'
        )
        items = sorted(moves.items())
        params = [
            {
                "batch": json.dumps(batch),
                "row": row,
                "line": json.dumps(line),
                "id": job_id,
                "pending": PENDING,
            }
            for job_id, (batch, row, line) in items
        ]

        def work(s: Session) -> set[str]:
            counts = s.rowcounts(sql, params)
            return {job_id for (job_id, _), count in zip(items, counts, strict=True) if count}

        return self._write(work)

    def _forget_keys(self, s: Session, older_than_ms: int) -> int:
        """Delete content keys recorded before the cut-off, inside the caller's transaction."""
        sql = f'DELETE FROM {CONTENT_KEYS} WHERE "created_at" < {self.dialect.p("cutoff")}'
        return s.execute(sql, {"cutoff": older_than_ms}).rowcount
