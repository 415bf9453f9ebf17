"""The intents file: loaded once, validated once, then immutable.

Whatever else an intent holds, it has a `name` and a list of `examples`
(api.md); `answer` (a string), `kind` and `deciding` are optional. That is all the
matcher needs, so any FAQ collection can be turned into an intents file.

`deciding` names the concepts that decide the intent, each with the words citizens
write for it (synonyms, readings, misconversions): staff extend them as data
(bot/understanding/concepts.py says how they are found and weighed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.yamlfile import DataError, load, where

KINDS = frozenset({"knowledge", "task", "conversation", "out_of_scope"})


@dataclass(frozen=True)
class Intent:
    name: str
    examples: tuple[str, ...]
    answer: str = ""
    kind: str = "knowledge"
    deciding: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (concept, its words), in file order

    @property
    def in_domain(self) -> bool:
        return self.kind != "out_of_scope"


def load_intents(path: Path) -> tuple[Intent, ...]:
    data = load(path)
    items = data.get("intents") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise DataError(f"{path}: expected a non-empty list 'intents'")
    intents: list[Intent] = []
    seen: set[str] = set()
    for item in items:
        at = where(path, item)
        if not isinstance(item, dict):
            raise DataError(f"{at}: each intent must be a mapping with 'name' and 'examples'")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{at}: intent without a 'name'")
        if name in seen:
            raise DataError(f"{at}: intent {name!r} is defined twice")
        seen.add(name)
        examples = item.get("examples")
        if not isinstance(examples, list) or not examples:
            raise DataError(f"{at}: intent {name!r} needs a non-empty list 'examples'")
        texts = []
        for example in examples:
            if isinstance(example, (int, float)):
                example = str(example)
            if not isinstance(example, str) or not example.strip():
                raise DataError(f"{at}: intent {name!r} has an empty or non-text example")
            texts.append(example.strip())
        answer = item.get("answer", "")
        if answer is None:
            answer = ""
        if not isinstance(answer, str):
            raise DataError(f"{at}: intent {name!r}: 'answer' must be a string")
        kind = item.get("kind", "knowledge")
        if kind not in KINDS:
            raise DataError(f"{at}: intent {name!r}: kind must be one of {sorted(KINDS)}, got {kind!r}")
        deciding = _deciding(at, name, item.get("deciding"))
        intents.append(Intent(name.strip(), tuple(texts), answer, kind, deciding))
    return tuple(intents)


def _deciding(at: str, name: str, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise DataError(f"{at}: intent {name!r}: 'deciding' must map each concept to a list of words")
    out = []
    for concept, words in value.items():
        if concept == "__line__":
            continue
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise DataError(f"{at}: intent {name!r}: deciding concept {concept!r} needs a non-empty list of words")
        out.append((str(concept), tuple(w.strip() for w in words)))
    return tuple(out)
