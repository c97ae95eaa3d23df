"""The per-row shortcuts of send-many give exactly what the general code gives: the JSON
written and read back, content keys, messages decoded from job data, NULLs bound by SQLite."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import kmsg_cli.content as content
from kmsg_cli.errors import StoreError
from kmsg_cli.jobs.codec import message_from_data, message_to_data
from kmsg_cli.jsontext import compact_encoder
from kmsg_cli.models import DeliveryStatus, Job, MessageDraft, MessageType
from kmsg_cli.normalize import build_message
from kmsg_cli.store import rows
from kmsg_cli.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

VALUES = [
    {},
    {"a": '한글 "quoted" \\ back\nline\t\u0001', "b": [1, 2.5, -0.0, 1e300, None, True]},
    {"nested": {"deep": [{"x": 1}, []], "status": DeliveryStatus.SENT}, "n": 10**30},
    {"nan": float("nan"), "inf": float("inf"), "keys": {"b": 1, "a": 2}},
]


@pytest.mark.parametrize("value", VALUES)
def test_dump_json_is_the_stdlib_encoding(value: dict[str, object]) -> None:
    assert rows.dump_json(value) == STDLIB.encode(value)


@pytest.mark.parametrize("value", VALUES)
def test_the_sorted_compact_encoder_is_the_stdlib_encoding(value: dict[str, object]) -> None:
    sorted_stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert compact_encoder(sort_keys=True)(value) == sorted_stdlib.encode(value)


def test_dump_json_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        rows.dump_json({"when": NOW})


@pytest.mark.parametrize(
    "text", ['{"a":1}', ' {"a": 1} ', '{\n  "a" : [1, {"b": null}]\n}\n', '{"k":"한글"}']
)
def test_load_json_reads_compact_and_spaced_text(text: str) -> None:
    assert rows.load_json(text, column="data") == json.loads(text)


@pytest.mark.parametrize("text", ['{"a":1} x', '{"a":1}{}', "{not json", "", " ", '{"a":'])
def test_load_json_bad_text_is_the_same_error(text: str) -> None:
    with pytest.raises(StoreError) as raised:
        rows.load_json(text, column="data")
    try:
        json.loads(text)
    except ValueError as exc:
        expected = f"column data holds invalid JSON: {exc}"
    assert raised.value.message == expected


def _messages() -> list[object]:
    def build(**fields: object) -> object:
        return build_message(MessageDraft(**fields), default_id="b:1", now=NOW)  # type: ignore[arg-type]

    return [
        build(to="010-1000-1234", text="#{name}님, 점검 안내입니다", variables={"name": "고객1"}),
        build(to="02-123-4567", text="x" * 200, subject="제목", sender="0212345678"),
        build(
            to="010-1000-1234",
            type="ALIMTALK",
            template_id="T1",
            text="안녕",
            variables={"b": "2", "a": "1"},
            failover_text="대체 문자",
            at="2026-03-02 10:00",
        ),
        build(to="+1 415 555 0100", text="hello ✓", provider_id="p2"),
    ]


@pytest.mark.parametrize("message", _messages())
def test_message_round_trips_through_job_data(message: object) -> None:
    data = json.loads(rows.dump_json(message_to_data(message)) or "{}")  # type: ignore[arg-type]
    assert message_from_data(data) == message


def test_message_from_data_checks_the_type() -> None:
    data = message_to_data(_messages()[0])  # type: ignore[arg-type]
    assert message_from_data({**data, "type": MessageType.LMS}).type is MessageType.LMS
    for bad in ("NOPE", ["SMS"], None):
        with pytest.raises(ValueError):
            message_from_data({**data, "type": bad})


@pytest.mark.parametrize("message", _messages())
def test_content_key_is_the_stdlib_recipe(message: object, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = content.content_key(message, "work")  # type: ignore[arg-type]
    stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    monkeypatch.setattr(content, "_ENCODE", stdlib.encode)
    assert fast == content.content_key(message, "work")  # type: ignore[arg-type]


def test_sqlite_binds_none_through_its_registered_adapter() -> None:
    store = SqliteStore(":memory:")
    try:
        assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (a, b)")
        conn.execute("INSERT INTO t VALUES (:a, :b)", {"a": None, "b": 1})
        assert conn.execute("SELECT a IS NULL, typeof(a), b FROM t").fetchone() == (1, "null", 1)
        conn.close()
    finally:
        store.close()


def test_sqlite_binds_a_list_of_ids_as_one_parameter(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "k.sqlite")
    try:
        store.initialize()
        marks, params = store._ids_in("k", ["a", "b"])
        assert list(params) == ["k"] and "json_each" in marks
        ids = ["plain", 'quo"te', "back\\slash", "한글:1", "tab\there", "x" * 300]
        ids += [f"b:{n}" for n in range(1200)]  # more than one chunk of MAX_IN_PARAMS
        jobs = [Job(id=i, type="send", data={"n": n}, created_at=n) for n, i in enumerate(ids)]
        assert store.insert_jobs(jobs) == len(jobs)
        wanted = [*ids[::3], "missing", ids[0]]
        found = store.get_jobs(wanted)
        assert set(found) == set(ids[::3])
        assert all(found[i].data == {"n": ids.index(i)} for i in found)
        changed = store.release_jobs(ids, now_ms=1)  # nothing is processing: no change
        assert changed == 0
        store.delete_jobs(ids[:700])
        assert store.count_jobs() == len(ids) - 700
    finally:
        store.close()
