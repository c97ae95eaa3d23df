"""The first-row set of send-many's duplicate check: the same answers in memory and spilled to
its temporary database, and nothing of it left behind."""

from __future__ import annotations

import hashlib
import os
import random

from kmsg_cli.store.scratch import FirstRows


def _key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _expected(pairs: list[tuple[str, int]], seen: dict[str, int]) -> list[int]:
    return [seen.setdefault(key, row) for key, row in pairs]


def test_first_rows_are_the_same_before_and_after_the_spill() -> None:
    rng = random.Random(7)
    rows = FirstRows(spill_at=50)
    seen: dict[str, int] = {}
    row = 0
    spilled_at_chunk = None
    for chunk in range(20):
        pairs = []
        for _ in range(30):
            row += 1
            pairs.append((_key(rng.randrange(200)), row))  # many repeats, inside and across chunks
        assert rows.first(pairs) == _expected(pairs, seen)
        if rows.spilled and spilled_at_chunk is None:
            spilled_at_chunk = chunk
    assert spilled_at_chunk is not None and spilled_at_chunk < 19  # later chunks ran on disk
    rows.close()


def test_a_key_repeated_inside_one_chunk_on_disk_points_at_its_first_row() -> None:
    rows = FirstRows(spill_at=1)
    rows.first([(_key(1), 1), (_key(2), 2)])
    assert rows.spilled
    assert rows.first([(_key(3), 3), (_key(3), 4), (_key(1), 5)]) == [3, 3, 1]


def test_the_temporary_database_is_not_in_the_working_directory(tmp_path: object) -> None:
    before = set(os.listdir("."))
    rows = FirstRows(spill_at=1)
    rows.first([(_key(n), n) for n in range(10)])
    assert set(os.listdir(".")) == before
    rows.close()
    assert not rows.spilled
