"""`kmsg report` over a large batch: the time to build every figure (funnel, failures by code,
latency percentiles, breakdowns, fallbacks, timeline) on SQLite and PostgreSQL, beside a plain
COUNT(*) of the same tracking table. Prints figures; asserts nothing.

    python -m benchmarks.report [--rows 1000000] [--engine sqlite|postgres]

The rows are generated inside the database (a recursive CTE), with a realistic mix of
statuses, codes, providers, types, latencies and AlimTalk fallbacks.
PostgreSQL: postgresql://postgres@127.0.0.1:5432/test (a throwaway schema).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kmsg_cli.report import Selection, build_report
from kmsg_cli.store import open_store
from kmsg_cli.store.contract import Store
from kmsg_cli.store.report import report_queries
from kmsg_cli.store.session import Session

BATCH = "bench"
START_MS = 1_796_601_600_000
STEP_MS = 10  # one message every 10 ms: 1,000,000 messages over about 2.8 hours

# Shared by both engines: which row gets which outcome (i runs from 1 to :rows).
_STATUS = (
    "CASE WHEN i % 100 < 85 THEN 'DELIVERED' WHEN i % 100 < 93 THEN 'FAILED' "
    "WHEN i % 100 < 95 THEN 'UNKNOWN' ELSE 'SENT' END"
)
_PROVIDER = "CASE WHEN i % 3 = 0 THEN 'backup' ELSE 'solapi' END"
_TYPE = "CASE WHEN i % 4 = 0 THEN 'LMS' WHEN i % 4 = 1 THEN 'ALIMTALK' ELSE 'SMS' END"
_CODE = (
    "CASE WHEN i % 100 < 85 THEN '4000' WHEN i % 100 < 93 THEN "
    "(CASE WHEN i % 4 = 1 THEN '3104' WHEN i % 7 = 0 THEN '3023' ELSE '3059' END) END"
)
_REQUESTED = f"({START_MS} + i * {STEP_MS})"
_DELIVERED = f"CASE WHEN i % 100 < 85 THEN {_REQUESTED} + (i * 7919) % 600000 END"
_FAILED = f"CASE WHEN i % 100 >= 85 AND i % 100 < 93 THEN {_REQUESTED} + 30000 END"


def _tracking_sql(metadata: str) -> str:
    ident = "'bench:' || CAST(i AS TEXT)"
    return f"""INSERT INTO "kmsg_delivery_tracking" ("message_id", "provider_id",
  "provider_message_id", "type", "to", "status", "provider_status_code", "requested_at",
  "status_updated_at", "next_check_at", "sent_at", "delivered_at", "failed_at", "metadata")
SELECT {ident}, {_PROVIDER}, 'P' || CAST(i AS TEXT), {_TYPE}, '010' || CAST(10000000 + i AS TEXT),
  {_STATUS}, {_CODE}, {_REQUESTED}, {_REQUESTED}, {_REQUESTED} + 30000, {_REQUESTED},
  {_DELIVERED}, {_FAILED}, {metadata}
FROM n"""


def _jobs_sql(data: str, metadata: str) -> str:
    return f"""INSERT INTO "kmsg_jobs" ("id", "type", "data", "status", "created_at",
  "process_at", "completed_at", "metadata")
SELECT 'bench:' || CAST(i AS TEXT), 'send', {data}, 'completed', {_REQUESTED}, {_REQUESTED},
  {_REQUESTED}, {metadata}
FROM n"""


def _statements(engine: str) -> list[str]:
    if engine == "postgres":
        numbers = "WITH n(i) AS (SELECT CAST(generate_series(1, %(rows)s) AS bigint))"
        failover = (
            "CASE WHEN i % 4 = 1 THEN jsonb_build_object('origin', 'send', 'failover', "
            "jsonb_build_object('requested', true, 'type', 'SMS', 'path', "
            "CASE WHEN i % 100 >= 85 AND i % 100 < 93 THEN 'api' END, 'outcome', "
            "CASE WHEN i % 100 >= 85 AND i % 100 < 93 THEN 'sent' END)) "
            "ELSE jsonb_build_object('origin', 'send') END"
        )
        data = (
            f"jsonb_build_object('provider', {_PROVIDER}, 'message', "
            f"jsonb_build_object('type', {_TYPE}))"
        )
        batch = "jsonb_build_object('batch', 'bench', 'row', i)"
    else:
        numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)"
        failover = (
            "CASE WHEN i % 4 = 1 THEN json_object('origin', 'send', 'failover', "
            "json_object('requested', json('true'), 'type', 'SMS', 'path', "
            "CASE WHEN i % 100 >= 85 AND i % 100 < 93 THEN 'api' END, 'outcome', "
            "CASE WHEN i % 100 >= 85 AND i % 100 < 93 THEN 'sent' END)) "
            "ELSE json_object('origin', 'send') END"
        )
        data = f"json_object('provider', {_PROVIDER}, 'message', json_object('type', {_TYPE}))"
        batch = "json_object('batch', 'bench', 'row', i)"
    bodies = [_tracking_sql(failover), _jobs_sql(data, batch)]
    if engine == "postgres":  # a literal % beside %(name)s placeholders is written %%
        bodies = [body.replace("%", "%%") for body in bodies]
    return [f"{numbers}\n{body}" for body in bodies]


def populate(store: Store, engine: str, rows: int) -> None:
    """`rows` tracking rows and their completed jobs of batch `bench`, made by the database."""
    queries = report_queries(store)
    for sql in _statements(engine):

        def fill(session: Session, sql: str = sql) -> None:
            session.execute(sql, {"rows": rows})

        queries.store._write(fill)
    queries.record_batch(BATCH, rows=rows, valid=rows, invalid=0, now_ms=START_MS)
    queries.store._run(lambda s: s.execute("ANALYZE"))


@contextlib.contextmanager
def opened(engine: str) -> Iterator[Store]:
    if engine == "postgres":
        from benchmarks.servers import pg_schema

        with pg_schema() as url, open_store(url) as store:
            store.initialize()
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="kmsg-bench-report-") as folder:
        with open_store(str(Path(folder) / "report.sqlite")) as store:
            store.initialize()
            yield store


def measure(rows: int, engine: str = "sqlite") -> dict[str, float]:
    """Seconds to build the report of the batch and of a time window (the whole range), and
    of one COUNT(*) of the tracking table, on a store holding `rows` messages."""
    with opened(engine) as store:
        started = time.perf_counter()
        populate(store, engine, rows)
        fill_s = time.perf_counter() - started
        now = START_MS + rows * STEP_MS + 3_600_000
        figures: dict[str, float] = {"fill_s": fill_s}
        for name, selection in (
            ("batch_s", Selection(batch=BATCH)),
            ("window_s", Selection(since_ms=START_MS, until_ms=now)),
        ):
            started = time.perf_counter()
            report = build_report(store, selection, now_ms=now, utc_offset_ms=9 * 3_600_000)
            figures[name] = time.perf_counter() - started
            if report.funnel.accepted != rows:
                raise RuntimeError(f"the report counted {report.funnel.accepted} of {rows} rows")
        started = time.perf_counter()
        store.count_tracking()
        figures["count_s"] = time.perf_counter() - started
        return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), action="append")
    args = parser.parse_args(argv)
    for engine in args.engine or ("sqlite", "postgres"):
        m = measure(args.rows, engine)
        print(
            f"{engine}: {args.rows:,} rows filled in {m['fill_s']:.1f} s; report of the batch "
            f"{m['batch_s']:.2f} s, of a time window {m['window_s']:.2f} s; "
            f"COUNT(*) {m['count_s']:.3f} s"
        )


if __name__ == "__main__":
    main()
