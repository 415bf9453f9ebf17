"""FAQ regression suites: load the YAML files staff keep, and score a bot against them.

A suite file has `cases: [{intent: name | null, questions: [...]}]`; null means
the bot must answer that it cannot help (no intent).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.knowledge.yamlfile import DataError, load, where


@dataclass(frozen=True)
class Case:
    question: str
    intent: str | None
    source: str


def load_suites(paths: Iterable[Path]) -> list[Case]:
    cases: list[Case] = []
    for path in paths:
        data = load(path)
        groups = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise DataError(f"{path}: expected a list 'cases'")
        for group in groups:
            at = where(path, group)
            if not isinstance(group, dict) or "intent" not in group or not isinstance(group.get("questions"), list):
                raise DataError(f"{at}: each case needs 'intent' (a name or null) and a list 'questions'")
            intent = group["intent"]
            if intent is not None and not isinstance(intent, str):
                raise DataError(f"{at}: intent must be a name or null")
            for question in group["questions"]:
                if not isinstance(question, str) or not question.strip():
                    raise DataError(f"{at}: empty or non-text question")
                cases.append(Case(question, intent, at))
    return cases


def evaluate(cases: list[Case], predict: Callable[[str], str | None]) -> dict[str, Any]:
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusions: Counter[tuple[str, str]] = Counter()
    misses = []
    for case in cases:
        got = predict(case.question)
        key = case.intent or "(none)"
        per_intent[key][1] += 1
        if got == case.intent:
            per_intent[key][0] += 1
        else:
            confusions[(key, got or "(none)")] += 1
            misses.append({"question": case.question, "expected": key, "got": got or "(none)", "at": case.source})
    total = sum(n for _, n in per_intent.values())
    correct = sum(c for c, _ in per_intent.values())
    accuracies = {k: c / n for k, (c, n) in per_intent.items()}
    return {
        "total": total,
        "correct": correct,
        "accuracy": correct / total if total else 0.0,
        "per_intent": {k: {"correct": c, "total": n, "accuracy": c / n} for k, (c, n) in sorted(per_intent.items())},
        "worst_intent_accuracy": min(accuracies.values()) if accuracies else 0.0,
        "confusions": [{"expected": e, "got": g, "count": n} for (e, g), n in confusions.most_common()],
        "misses": misses,
    }


def format_evaluation(evaluation: dict[str, Any], show_misses: bool = True) -> str:
    lines = [f"{'intent':<22} {'correct':>7} {'total':>5} {'accuracy':>8}"]
    for name, row in evaluation["per_intent"].items():
        lines.append(f"{name:<22} {row['correct']:>7} {row['total']:>5} {row['accuracy']:>8.1%}")
    lines.append(f"{'ALL':<22} {evaluation['correct']:>7} {evaluation['total']:>5} {evaluation['accuracy']:>8.1%}")
    if evaluation["confusions"]:
        lines.append("\nconfusions (expected -> got: count)")
        lines.extend(f"  {c['expected']} -> {c['got']}: {c['count']}" for c in evaluation["confusions"][:30])
    if show_misses and evaluation["misses"]:
        lines.append("\nmisses")
        lines.extend(f"  [{m['expected']} -> {m['got']}] {m['question']}  ({m['at']})" for m in evaluation["misses"])
    return "\n".join(lines)
