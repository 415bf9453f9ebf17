"""Score the bot on a labelled question set, per style and per intent (DEVELOPERS.md, "Measuring understanding").

The set is a YAML list of {id, style, intent (a name or null), text}; each text is the first
message of a new conversation, answered by the whole bot as a citizen would meet it. Prints:
in-domain top-1 (the right intent), in-domain turned away (no intent), out-of-domain
recognised (no intent), long messages right, and the same per style and per intent.

    .venv/bin/python bench/eval_blind.py SET.yaml [--misses] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engine import Bot
from bot.knowledge.yamlfile import parse as parse_yaml
from bot.operations.settings import Settings
from bot.stores.sessions import MemoryStore


def score(items: list[dict], predict) -> dict:  # noqa: ANN001
    rows = []
    for item in items:
        got = predict(item["text"])
        rows.append({**item, "got": got})
    return summarise(rows)


def _rate(rows: list[dict], ok) -> str:  # noqa: ANN001
    if not rows:
        return "-"
    n = sum(1 for r in rows if ok(r))
    return f"{n}/{len(rows)} ({n / len(rows):.0%})"


def summarise(rows: list[dict]) -> dict:
    ind = [r for r in rows if r["intent"] is not None]
    ood = [r for r in rows if r["intent"] is None]
    right = lambda r: r["got"] == r["intent"]  # noqa: E731
    summary = {
        "in_domain_top1": _rate(ind, right),
        "in_domain_turned_away": _rate(ind, lambda r: r["got"] is None),
        "out_of_domain_recognised": _rate(ood, right),
        "long_right": _rate([r for r in rows if r["style"] == "long"], right),
        "all_right": _rate(rows, right),
    }
    by_style: dict[str, list[dict]] = defaultdict(list)
    by_intent: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_style[r["style"]].append(r)
        by_intent[r["intent"] or "(none)"].append(r)
    summary["per_style"] = {
        s: {"right": _rate(rs, right), "in_domain_turned_away": _rate([r for r in rs if r["intent"]], lambda r: r["got"] is None),
            "out_of_domain_accepted": _rate([r for r in rs if not r["intent"]], lambda r: r["got"] is not None)}
        for s, rs in sorted(by_style.items())
    }
    summary["per_intent"] = {i: _rate(rs, right) for i, rs in sorted(by_intent.items())}
    summary["misses"] = [{"id": r.get("id"), "style": r["style"], "want": r["intent"], "got": r["got"], "text": r["text"]}
                         for r in rows if not right(r)]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    items = parse_yaml(Path(args.set).read_text(encoding="utf-8"))
    bot = Bot(Settings.from_env(), store=MemoryStore())
    summary = score(items, lambda text: bot.reply(text).intent)
    for key in ("in_domain_top1", "in_domain_turned_away", "out_of_domain_recognised", "long_right", "all_right"):
        print(f"{key:<28} {summary[key]}")
    print("\nper style                right            in-domain turned away   out-of-domain accepted")
    for style, row in summary["per_style"].items():
        print(f"  {style:<22} {row['right']:<16} {row['in_domain_turned_away']:<23} {row['out_of_domain_accepted']}")
    print("\nper intent")
    for intent, rate in summary["per_intent"].items():
        print(f"  {intent:<22} {rate}")
    if args.misses:
        print("\nmisses")
        for m in summary["misses"]:
            print(f"  [{m['style']}] {m['want']} -> {m['got']}: {m['text']}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
