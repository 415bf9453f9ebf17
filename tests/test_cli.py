"""The command line as staff use it: real subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC
from pathlib import Path

from bot.operations.settings import ROOT


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_rank_reads_stdin_and_writes_json_lines(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text(
        "intents:\n"
        "  - {name: juminhyo, examples: [住民票の写しを取りたい], answer: 住民票は窓口かコンビニで取れます}\n"
        "  - {name: gomi, examples: [燃えるゴミの収集日], answer: 収集日は地区ごとに決まっています}\n"
        "  - {name: inkan, examples: [印鑑登録をしたい], answer: 印鑑登録は本人が窓口で申請します}\n",
        encoding="utf-8",
    )
    result = run("rank", "--intents", str(faq), "--top", "2", stdin="じゅうみんひょうがほしい\n\nゴミはいつ出せる?\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["じゅうみんひょうがほしい", "ゴミはいつ出せる?"]
    assert lines[0]["ranking"][0]["intent"] == "juminhyo"
    assert lines[1]["ranking"][0]["intent"] == "gomi"
    assert all(len(line["ranking"]) == 2 for line in lines)


def test_test_faq_passes_and_fails_on_threshold(tmp_path: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "suite: staff\ncases:\n"
        "  - intent: forgot_pin\n    questions: [暗証番号をど忘れしてしもた]\n"
        "  - intent: null\n    questions: [明日の天気はどうなりますか]\n",
        encoding="utf-8",
    )
    ok = run("test-faq", str(suite), "--threshold", "1.0")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ALL" in ok.stdout and "100.0%" in ok.stdout
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("cases:\n  - intent: fee\n    questions: [暗証番号を忘れました]\n", encoding="utf-8")
    failed = run("test-faq", str(wrong), "--threshold", "0.5")
    assert failed.returncode == 1
    assert "fee -> forgot_pin" in failed.stdout
    assert "FAILED" in failed.stdout


def test_test_faq_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases:\n  - intent: fee\n    questions: nope\n", encoding="utf-8")
    result = run("test-faq", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("python -m bot test-faq: error: ") and "bad.yaml:2" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("rank", "--intents", str(tmp_path / "none.yaml"), stdin="x\n")
    assert missing.returncode == 2 and "none.yaml" in missing.stderr and "Traceback" not in missing.stderr


def test_chat_repl(tmp_path: Path) -> None:
    result = run("chat", "--municipality", "nagoya", stdin="暗証番号を忘れました\n\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "[forgot_pin" in result.stdout
    assert "名古屋市" in result.stdout
    assert "[empty_text]" in result.stdout


def test_report_in_text_csv_and_json(tmp_path: Path) -> None:
    import csv
    import io
    import os
    from datetime import datetime

    from bot.stores.turnlog import TurnLog

    db = tmp_path / "bot.sqlite3"
    log = TurnLog(str(db))
    now = datetime.now(UTC)
    for text, intent, answered in [("ゴミの日はいつ?", None, False), ("ゴミの日はいつ?", None, False),
                                   ("暗証番号を忘れた", "forgot_pin", True), ("駐輪場はある?", None, False)]:
        log.record(session_id="s", channel="web", text=text, intent=intent, confidence=0.5, answered=answered,
                   municipality=None, at=now)
    log.close()

    def report(*extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "report", "--days", "7", *extra], capture_output=True, text=True,
            cwd=ROOT, timeout=60, env={**os.environ, "BOT_DB": str(db)},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    text = report()
    assert "forgot_pin" in text and "ゴミの日はいつ?" in text
    rows = list(csv.reader(io.StringIO(report("--format", "csv"))))
    assert rows[0] == ["\ufeffcount", "last_seen", "text"]  # the BOM Excel needs
    assert [(r[0], r[2]) for r in rows[1:]] == [("2", "ゴミの日はいつ?"), ("1", "駐輪場はある?")]
    data = json.loads(report("--format", "json"))
    assert data["turns"] == 4 and data["unanswered_turns"] == 3
    assert {"intent": "forgot_pin", "count": 1} in data["intents"]
