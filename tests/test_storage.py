from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.operations.privacy import pseudonym
from bot.operations.report import format_report
from bot.operations.settings import ConfigError, Settings
from bot.stores.sessions import SqliteStore
from bot.stores.turnlog import TurnLog, prune_turns

JST = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=JST)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "bot.sqlite3")


@pytest.fixture
def turn_log(db: str) -> Iterator[TurnLog]:
    turns = TurnLog(db)
    yield turns
    turns.close()


def record(turns: TurnLog, text: str, intent: str | None, answered: bool, minutes: float = 0, session: str = "s1") -> None:
    turns.record(
        session_id=session, channel="web", text=text, intent=intent, confidence=0.5 if intent else 0.0,
        answered=answered, municipality="zama", at=T0 + timedelta(minutes=minutes),
    )


def stored_rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT session, channel, text, intent, answered, municipality FROM turn_log").fetchall()


def test_report_counts_intents_and_groups_unanswered(turn_log: TurnLog) -> None:
    record(turn_log, "更新に必要なものは?", "renewal_procedure", True, 1)
    record(turn_log, "更新の持ち物", "renewal_procedure", True, 2)
    record(turn_log, "手数料はいくら", "fee", True, 3)
    record(turn_log, "ゴミの出し方", None, False, 4)
    record(turn_log, "  ゴミの出し方 ", None, False, 5)
    record(turn_log, "ＰＩＮってなに", None, False, 6)
    record(turn_log, "pinってなに", "pin_types", False, 7)  # the bot asked to clarify
    record(turn_log, "天気は?", None, False, 8)

    report = turn_log.report(T0, T0 + timedelta(days=1))

    assert report["turns"] == 8
    assert report["unanswered_turns"] == 5
    assert report["intents"] == [
        {"intent": None, "count": 4},
        {"intent": "renewal_procedure", "count": 2},
        {"intent": "fee", "count": 1},
        {"intent": "pin_types", "count": 1},
    ]
    assert [(row["text"], row["count"]) for row in report["unanswered"]] == [
        ("pinってなに", 2),  # the latest wording of the group
        ("  ゴミの出し方 ", 2),
        ("天気は?", 1),
    ]
    assert report["unanswered"][0]["last_seen"] == (T0 + timedelta(minutes=7)).isoformat()


def test_report_window_is_half_open_and_limited(turn_log: TurnLog) -> None:
    for minute, text in enumerate(["a", "b", "c", "d", "e"]):
        record(turn_log, text, None, False, minute)
    report = turn_log.report(T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), limit=2)
    assert report["turns"] == 3
    assert [row["text"] for row in report["unanswered"]] == ["d", "c"]


def test_last_seen_is_given_in_the_zone_of_since(turn_log: TurnLog) -> None:
    record(turn_log, "x", None, False)
    utc = turn_log.report(T0.astimezone(UTC), T0 + timedelta(hours=1))
    assert utc["unanswered"][0]["last_seen"] == "2026-04-01T00:00:00+00:00"


def test_empty_window(turn_log: TurnLog) -> None:
    report = turn_log.report(T0, T0 + timedelta(days=30))
    assert report["turns"] == 0 and report["intents"] == [] and report["unanswered"] == []


@pytest.mark.parametrize(
    "secret",
    ["暗証番号は4826です", "マイナンバーは123456789018", "パスワードＡＢＣ１２３４５", "1234 5678 9018"],
)
def test_secrets_never_reach_the_file(db: str, secret: str) -> None:
    turns = TurnLog(db)
    record(turns, secret, None, False)  # as if the engine forgot to mask
    turns.close()
    (text,) = [row[2] for row in stored_rows(db)]
    assert "[暗証番号]" in text or "[マイナンバー]" in text
    raw = b"".join(path.read_bytes() for path in Path(db).parent.iterdir())
    for digits in ("4826", "123456789018", "12345", "9018"):
        if digits in secret:
            assert digits.encode() not in raw


# (typed, kept in the log); then what must not be anywhere in the database files
LOGGED_WITHOUT = {
    "dates": (
        [("生年月日は1961年3月8日、発行は令和3年3月1日です", "生年月日は[日付]、発行は[日付]です"),
         ("しょうわさんじゅうろくねんさんがつようかうまれ", "[日付]うまれ"),
         ("今日は何時まで開いていますか", "今日は何時まで開いていますか")],  # the question stays
        ["1961", "さんじゅうろく"],
    ),
    "contacts": (
        [("折り返し電話ください。０９０－８７６５－４３２１ です", "折り返し電話ください。[電話番号] です"),
         ("メールでもいいです hanako.yamada@example.ne.jp", "メールでもいいです [メールアドレス]"),
         ("通知書の送り先は緑ケ丘4丁目17番29号です", "通知書の送り先は緑ケ丘[住所]です")],
        ["８７６５", "yamada", "17番29号"],
    ),
}


@pytest.mark.parametrize("kind", sorted(LOGGED_WITHOUT))
def test_the_log_keeps_the_question_without_personal_details(db: str, kind: str) -> None:
    turns_in, never = LOGGED_WITHOUT[kind]
    turns = TurnLog(db)
    for minutes, (typed, _) in enumerate(turns_in):
        record(turns, typed, None, False, minutes)
    turns.close()
    assert [row[2] for row in stored_rows(db)] == [kept for _, kept in turns_in]
    raw = b"".join(path.read_bytes() for path in Path(db).parent.iterdir())
    assert [word for word in never if word.encode() in raw] == []


def test_session_id_is_stored_as_a_digest(turn_log: TurnLog, db: str) -> None:
    record(turn_log, "こんにちは", "greeting", True, session="line:U4af4980629")
    turn_log.flush()
    (row,) = stored_rows(db)
    assert row[0] == pseudonym("line:U4af4980629")
    assert "U4af4980629" not in row[0]
    assert row[1:] == ("web", "こんにちは", "greeting", 1, "zama")


def test_naive_times_are_refused(turn_log: TurnLog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        turn_log.record(session_id="s", channel="web", text="x", intent=None, confidence=0.0,
                        answered=False, municipality=None, at=datetime(2026, 4, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        turn_log.report(datetime(2026, 4, 1), T0)
    with pytest.raises(ValueError, match="after until"):
        turn_log.report(T0 + timedelta(days=1), T0)


def test_many_threads_lose_nothing(turn_log: TurnLog) -> None:
    def worker(n: int) -> None:
        for i in range(300):
            record(turn_log, f"質問{n}-{i}", "fee" if i % 2 else None, bool(i % 2), session=f"s{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = turn_log.report(T0, T0 + timedelta(days=1), limit=5000)
    assert report["turns"] == 2400
    assert report["unanswered_turns"] == 1200
    assert len(report["unanswered"]) == 1200
    assert turn_log.dropped == 0 and turn_log.failed == 0


def test_log_survives_a_restart_and_shares_the_session_file(db: str) -> None:
    sessions = SqliteStore(db)
    sessions.save("s1", {"step": 1})
    first = TurnLog(db)
    record(first, "最初", "greeting", True)
    first.close()
    second = TurnLog(db, retention_days=0)  # T0 is a fixed day: a year on, the default would prune it
    record(second, "二回目", None, False, 1)
    assert second.report(T0, T0 + timedelta(hours=1))["turns"] == 2
    second.close()
    assert sessions.load("s1") == {"step": 1}
    sessions.close()


def test_memory_database_works_for_one_process() -> None:
    turns = TurnLog(":memory:")
    record(turns, "x", None, False)
    assert turns.report(T0, T0 + timedelta(hours=1))["turns"] == 1
    turns.close()


def test_full_queue_drops_and_counts(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    writing, release = threading.Event(), threading.Event()
    real_write = TurnLog._write

    def slow_write(conn: sqlite3.Connection, turns: list) -> None:
        writing.set()
        release.wait(10)
        real_write(conn, turns)

    monkeypatch.setattr(TurnLog, "_write", staticmethod(slow_write))
    turns = TurnLog(db, queue_size=1)
    record(turns, "one", None, False)
    assert writing.wait(5)
    record(turns, "two", None, False)  # waits in the queue
    record(turns, "three", None, False)  # no room: dropped, not blocking the chat
    assert turns.dropped == 1
    release.set()
    assert turns.report(T0, T0 + timedelta(hours=1))["turns"] == 2
    turns.close()


def test_record_after_close_is_an_error(db: str) -> None:
    turns = TurnLog(db)
    turns.close()
    turns.close()  # idempotent
    with pytest.raises(RuntimeError):
        record(turns, "x", None, False)


def test_format_report_shows_every_part() -> None:
    report = {
        "since": "2026-04-01T00:00:00+09:00", "until": "2026-05-01T00:00:00+09:00",
        "turns": 10, "unanswered_turns": 4,
        "intents": [{"intent": "fee", "count": 6}, {"intent": None, "count": 4}],
        "unanswered": [{"text": "ゴミの\n出し方", "count": 3, "last_seen": "2026-04-20T13:05:00+09:00"},
                       {"text": "あ" * 100, "count": 1, "last_seen": "2026-04-02T08:00:00+09:00"}],
    }
    text = format_report(report)
    assert "Turns: 10" in text and "Unanswered: 4 (40.0%)" in text
    assert "2026-04-01T00:00:00+09:00" in text
    assert "      6  fee" in text
    assert "(none / 対象外)" in text
    assert "      3  2026-04-20 13:05  ゴミの 出し方" in text
    assert "あ" * 59 + "…" in text and "あ" * 61 not in text


def test_format_report_takes_the_minimal_shape() -> None:
    text = format_report({"turns": 0, "intents": [], "unanswered": []})
    assert "Turns: 0" in text
    assert text.count("(なし / none)") == 2


# --- retention ------------------------------------------------------------------

NOW = T0 + timedelta(days=400)
DAY = 86400


def seed(db: str, ages_days: list[float]) -> None:
    """Turns logged `age` days before NOW, written by a log that keeps everything."""
    turns = TurnLog(db, retention_days=0)
    for age in ages_days:
        turns.record(session_id="s", channel="web", text=f"{age}日前の質問", intent=None, confidence=0.0,
                     answered=False, municipality=None, at=NOW - timedelta(days=age))
    turns.close()


def texts(db: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM turn_log ORDER BY at")]


@pytest.mark.parametrize(
    ("retention_days", "kept"),
    [
        (365, ["365日前の質問", "364.9日前の質問", "1日前の質問"]),  # exactly 365 days old is kept
        (30, ["1日前の質問"]),
        (1, ["1日前の質問"]),
        (0, ["800日前の質問", "365.1日前の質問", "365日前の質問", "364.9日前の質問", "1日前の質問"]),  # 0: keep forever
    ],
)
def test_turns_past_the_retention_are_deleted_when_the_log_starts(db: str, retention_days: int, kept: list[str]) -> None:
    seed(db, [800, 365.1, 365, 364.9, 1])
    turns = TurnLog(db, retention_days=retention_days, now=NOW.timestamp)
    turns.flush()  # waits for the start-up pruning too
    assert texts(db) == kept
    assert turns.pruned == 5 - len(kept)
    turns.close()


def test_pruning_is_never_on_the_request_path_and_at_most_once_an_hour(db: str) -> None:
    clock = [NOW.timestamp()]
    turns = TurnLog(db, retention_days=30, now=lambda: clock[0])
    turns.record(session_id="s", channel="web", text="古い", intent=None, confidence=0.0, answered=False,
                 municipality=None, at=NOW - timedelta(days=20))
    turns.flush()
    clock[0] += 20 * DAY  # the turn is 40 days old now
    for i in range(3):
        turns.record(session_id="s", channel="web", text=f"新しい{i}", intent=None, confidence=0.0,
                     answered=False, municipality=None, at=NOW + timedelta(days=20))
    turns.flush()
    assert "古い" in texts(db) and turns.pruned == 0  # the next pruning is an hour after the first
    turns.close()


def test_the_writer_prunes_again_on_its_own_while_idle(db: str) -> None:
    seed(db, [10])
    clock = [NOW.timestamp()]
    turns = TurnLog(db, retention_days=30, now=lambda: clock[0], prune_every=0.1)
    turns.flush()
    assert texts(db) == ["10日前の質問"]
    clock[0] += 25 * DAY  # 35 days old: the next round deletes it, with no turn recorded to wake the writer
    deadline = time.monotonic() + 3
    while turns.pruned == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert turns.pruned == 1 and texts(db) == []
    turns.close()


def test_a_pruned_question_does_not_linger_in_the_file(db: str) -> None:
    seed(db, [90, 1])
    turns = TurnLog(db, retention_days=30, now=NOW.timestamp)
    turns.flush()
    turns.close()
    raw = b"".join(path.read_bytes() for path in Path(db).parent.iterdir())
    assert "1日前の質問".encode() in raw  # the scan sees what is kept
    assert "90日前の質問".encode() not in raw


def test_prune_turns_deletes_in_chunks_and_counts(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE turn_log (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
    conn.executemany("INSERT INTO turn_log (at) VALUES (?)", [(float(at),) for at in range(23)])
    assert prune_turns(conn, before=12, chunk=5) == 12
    assert [row[0] for row in conn.execute("SELECT at FROM turn_log")] == [float(at) for at in range(12, 23)]
    assert prune_turns(conn, before=12, chunk=5) == 0
    conn.close()


def test_retention_comes_from_settings_and_a_bad_one_is_loud(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(db, [10, 1])
    monkeypatch.setenv("LOG_RETENTION_DAYS", "5")
    turns = TurnLog(db, now=NOW.timestamp, retention_days=Settings.from_env().log_retention_days)
    turns.flush()
    assert texts(db) == ["1日前の質問"]
    turns.close()
    monkeypatch.setenv("LOG_RETENTION_DAYS", "a year")
    with pytest.raises(ConfigError, match="LOG_RETENTION_DAYS"):
        Settings.from_env()
    with pytest.raises(ValueError, match="retention_days"):
        TurnLog(db, retention_days=-1)
