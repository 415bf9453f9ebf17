"""The staff report as text or CSV: what `python -m bot report` prints.

`TurnLog.report` (bot/stores/turnlog.py) gathers the figures; this only lays them out.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a `TurnLog.report` result, for staff at a terminal."""
    turns = int(report.get("turns", 0))
    unanswered_total = report.get("unanswered_turns")
    if unanswered_total is None:
        unanswered_total = sum(int(row["count"]) for row in report.get("unanswered", []))
    share = f" ({100 * unanswered_total / turns:.1f}%)" if turns else ""
    lines = ["会話ログ集計 / Conversation report"]
    if report.get("since") or report.get("until"):
        lines.append(f"期間 / Period: {report.get('since', '?')} – {report.get('until', '?')}")
    lines.append(f"ターン数 / Turns: {turns}    未回答 / Unanswered: {unanswered_total}{share}")
    lines += ["", "意図別 / By intent", f"  {'count':>7}  intent", f"  {'-' * 7}  {'-' * 24}"]
    intents = report.get("intents", [])
    for row in intents:
        lines.append(f"  {row['count']:>7}  {row['intent'] if row['intent'] is not None else '(none / 対象外)'}")
    if not intents:
        lines.append("  (なし / none)")
    unanswered = report.get("unanswered", [])
    lines += [
        "",
        f"未回答の質問 / Unanswered questions (top {len(unanswered)})",
        f"  {'count':>7}  {'last seen':<16}  text",
        f"  {'-' * 7}  {'-' * 16}  {'-' * 24}",
    ]
    for row in unanswered:
        lines.append(f"  {row['count']:>7}  {_short_time(row.get('last_seen')):<16}  {_one_line(row['text'])}")
    if not unanswered:
        lines.append("  (なし / none)")
    return "\n".join(lines) + "\n"


def _short_time(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def unanswered_csv(report: dict[str, Any]) -> str:
    """The unanswered questions as CSV (count, last seen, text), most frequent first.

    Starts with a byte order mark so that Excel, which municipal staff open it in, reads
    the Japanese as UTF-8.

    >>> unanswered_csv({"unanswered": [{"text": "ゴミの日は?", "count": 3, "last_seen": "2026-11-30T09:00:00+09:00"}]})
    '\\ufeffcount,last_seen,text\\r\\n3,2026-11-30T09:00:00+09:00,ゴミの日は?\\r\\n'
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["count", "last_seen", "text"])
    for row in report.get("unanswered", []):
        writer.writerow([row["count"], row.get("last_seen") or "", row["text"]])
    return out.getvalue()
