"""Fold labelled questions written elsewhere into intents.yaml as examples.

Sources are either a blind set (a YAML list of {id, style, intent, text}; intent null is
out of domain) or a writer's file (a mapping intent -> [{style, text, topic?}]; the key
'null' is out of domain). Out-of-domain questions go to the out_of_scope intent.

An item is dropped when, once normalised (width, case, lexicon, punctuation), it equals
or nearly equals (rapidfuzz ratio >= --near) an example already there or one folded
before it; when it nearly equals a question of the FAQ suites (those are the regression
test: only the count is printed, never the questions); or when its id or text is
listed in --drop (items judged mislabelled, one per line, '#' comments). New examples
are appended to their intent's list under a comment naming the source and the style,
so the file stays readable; an intent that does not exist yet is added with kind
knowledge before the out_of_scope intent.

    python scripts/fold_examples.py --source /work/train/g1.yaml ... [--drop FILE] [--dry-run]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.operations.faq import load_suites
from bot.understanding.intents import load_intents
from bot.understanding.normalize import Normalizer, load_lexicon

_PUNCT = re.compile(r"[\s、。,.!?・「」『』()\[\]【】〜~ー\-:;…\"'ｰ]")


def items_of(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    if isinstance(data, list):
        for item in data:
            out.append({"id": str(item["id"]), "intent": item["intent"] or "out_of_scope",
                        "style": item["style"], "text": str(item["text"]).strip(), "source": path.stem})
        return out
    for intent, entries in data.items():
        name = "out_of_scope" if intent in (None, "null") else str(intent)
        for n, item in enumerate(entries):
            out.append({"id": f"{path.stem}:{name}:{n}", "intent": name, "style": item["style"],
                        "text": str(item["text"]).strip(), "source": path.stem})
    return out


def yaml_scalar(text: str) -> str:
    """The text as a YAML list item's scalar: plain when it reads back the same, else quoted."""
    try:
        if yaml.safe_load(f"- {text}") == [text] and "#" not in text:
            return text
    except yaml.YAMLError:
        pass
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", required=True)
    parser.add_argument("--intents", default=str(ROOT / "intents.yaml"))
    parser.add_argument("--drop", help="ids or texts to leave out, one per line")
    parser.add_argument("--near", type=float, default=92.0)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    normalize = Normalizer(load_lexicon(ROOT / "knowledge" / "lexicon.yaml"))

    def key(text: str) -> str:
        return _PUNCT.sub("", normalize(text))

    intents_path = Path(args.intents)
    existing = load_intents(intents_path)
    dropped_by_hand: set[str] = set()
    if args.drop:
        for line in Path(args.drop).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                dropped_by_hand.add(line)
    kept_keys = [key(e) for i in existing for e in i.examples]
    kept_owner = [i.name for i in existing for _ in i.examples]
    suite = [key(c.question) for c in load_suites(sorted((ROOT / "tests" / "faq").glob("*.yaml")))]

    counts: Counter[str] = Counter()
    conflicts: list[str] = []
    added: dict[str, list[dict]] = defaultdict(list)
    for source in args.source:
        for item in items_of(Path(source)):
            counts["read"] += 1
            if item["id"] in dropped_by_hand or item["text"] in dropped_by_hand:
                counts["dropped as mislabelled"] += 1
                continue
            k = key(item["text"])
            if not k:
                counts["empty"] += 1
                continue
            if suite and process.extractOne(k, suite, scorer=fuzz.ratio, score_cutoff=90) is not None:
                counts["near a suite question (not shown)"] += 1
                continue
            near = process.extract(k, kept_keys, scorer=fuzz.ratio, score_cutoff=args.near, limit=3)
            if near:
                owners = {kept_owner[i] for _, _, i in near}
                if item["intent"] in owners:
                    counts["duplicate or near duplicate"] += 1
                else:
                    counts["near an example of another intent"] += 1
                    conflicts.append(f"{item['id']} [{item['intent']}] {item['text']}  ~  {sorted(owners)}")
                continue
            kept_keys.append(k)
            kept_owner.append(item["intent"])
            added[item["intent"]].append(item)
            counts["added"] += 1
    for label, n in counts.items():
        print(f"{label:<40} {n}")
    for line in conflicts:
        print("  conflict:", line)
    print("added per intent:", {name: len(v) for name, v in sorted(added.items())})
    if args.dry_run:
        return 0
    intents_path.write_text(insert(intents_path.read_text(encoding="utf-8"), added), encoding="utf-8")
    load_intents(intents_path)  # still valid
    return 0


def insert(text: str, added: dict[str, list[dict]]) -> str:
    lines = text.splitlines()
    starts = {m: i for i, line in enumerate(lines) if (m := _name_of(line))}
    order = sorted(starts.items(), key=lambda kv: kv[1])
    new_blocks: list[str] = []
    for name, items in added.items():
        if name not in starts:
            new_blocks += ["", f"  - name: {name}", "    kind: knowledge", "    examples:"] + _block(items)
    # Insert from the bottom up so earlier line numbers stay right.
    for pos, (name, start) in reversed(list(enumerate(order))):
        end = order[pos + 1][1] if pos + 1 < len(order) else len(lines)
        last = max(i for i in range(start, end) if lines[i].startswith("      - "))
        block = _block(added.get(name, []))
        if name == "out_of_scope" and new_blocks:
            # New intents go before out_of_scope, past the comment that introduces it.
            at = start
            while at > 0 and lines[at - 1].lstrip().startswith("#"):
                at -= 1
            lines[last + 1 : last + 1] = block
            lines[at:at] = new_blocks[1:] + [""]
        else:
            lines[last + 1 : last + 1] = block
    return "\n".join(lines) + "\n"


def _block(items: list[dict]) -> list[str]:
    out: list[str] = []
    by_group: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for item in items:
        by_group[(item["source"], item["style"])].append(item)
    for (source, style), group in by_group.items():
        out.append(f"      # {source}, {style}")
        out += [f"      - {yaml_scalar(item['text'])}" for item in group]
    return out


def _name_of(line: str) -> str | None:
    m = re.match(r"^  - name: (\S+)\s*$", line)
    return m.group(1) if m else None


if __name__ == "__main__":
    raise SystemExit(main())
