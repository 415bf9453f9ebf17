"""The knowledge base: answers, their sources, municipality profiles and the bot's own phrases.

Everything is loaded once into immutable objects and cross-checked at start-up
(every answer's sources exist, every municipality's source exists, every
message the engine or the dialogue asks for by name is present), with errors
that name the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.normalize import basic_normalize
from bot.replies import Message
from bot.yamlfile import DataError, load, strip_lines, where

LOCAL_FIELDS = ("counter", "hours", "reservation", "phone", "notes")
_LOCAL_LABELS = {"counter": "窓口", "hours": "受付時間", "reservation": "予約", "phone": "電話", "notes": "ご注意"}


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    sources: tuple[str, ...]
    quick_replies: tuple[str, ...] = ()
    local: tuple[str, ...] = ()


@dataclass(frozen=True)
class Municipality:
    id: str
    name: str
    source: str
    aliases: tuple[str, ...]
    fields: Mapping[str, Any]  # counter, hours, reservation, phone, notes: None where the source is silent

    def local_lines(self, wanted: Iterable[str]) -> list[str]:
        lines = []
        for key in wanted:
            value = self.fields.get(key)
            if not value:
                continue
            if key == "phone":
                value = "、".join(f"{p['label']} {p['number']}" if isinstance(p, dict) else str(p) for p in value)
            elif isinstance(value, list):
                value = " ".join(str(v) for v in value)
            lines.append(f"・{_LOCAL_LABELS.get(key, key)}:{value}")
        return lines


@dataclass(frozen=True)
class Knowledge:
    answers: Mapping[str, Answer]
    sources: Mapping[str, Mapping[str, str]]
    municipalities: Mapping[str, Municipality]
    messages: Mapping[str, Any]
    _aliases: Mapping[str, str]

    def message(self, key: str, **values: Any) -> str:
        return str(self.messages[key]).format(**values)

    def municipality(self, key: str | None) -> Municipality | None:
        """Look a municipality up by id, name or alias ("zama", "座間市", "座間")."""
        if not key:
            return None
        return self.municipalities.get(self._aliases.get(basic_normalize(key), ""))

    def render(self, intent: str, municipality: Municipality | None) -> list[Message]:
        answer = self.answers[intent]
        messages = [Message(answer.text.strip(), answer.quick_replies)]
        if answer.local:
            messages.append(Message(self.local_note(answer.local, municipality)))
        return messages

    def local_note(self, wanted: Iterable[str], municipality: Municipality | None) -> str:
        if municipality is None:
            return self.message("check_local")
        wanted = tuple(wanted)
        lines = municipality.local_lines(wanted)
        if not lines:
            return self.message("local_unknown", name=municipality.name)
        missing = [_LOCAL_LABELS[k] for k in wanted if k != "notes" and not municipality.fields.get(k)]
        if missing:
            lines.append(self.message("local_partly_unknown", name=municipality.name, fields="・".join(missing)))
        return "\n".join([self.message("local_heading", name=municipality.name), *lines])

    def topic(self, intent: str) -> str:
        return str(self.messages["topics"][intent])


REQUIRED_MESSAGES = (
    "fallback", "fallback_topics", "clarify", "check_local", "local_heading", "local_unknown", "local_partly_unknown",
    "topics", "menu", "contact_hint",
)


def load_knowledge(directory: Path, intent_names: Iterable[str], required_messages: Iterable[str] = ()) -> Knowledge:
    sources = _load_sources(directory / "sources.yaml")
    answers = _load_answers(directory / "answers", sources)
    municipalities, aliases = _load_municipalities(directory / "municipalities", sources)
    messages_path = directory / "messages.yaml"
    messages = strip_lines(load(messages_path))
    if not isinstance(messages, dict):
        raise DataError(f"{messages_path}: expected a mapping of message names")
    for key in (*REQUIRED_MESSAGES, *required_messages):
        if key not in messages:
            raise DataError(f"{messages_path}: message {key!r} is missing")
    names = set(intent_names)
    for name in names:
        if name not in answers and name not in messages.get("no_answer", []):
            raise DataError(f"{directory / 'answers'}: intent {name!r} has no answer file")
    for key, intent in ((k, k) for k in messages["topics"]):
        if intent not in names:
            raise DataError(f"{messages_path}: topic {key!r} is not an intent in the intents file")
    for intent in messages["menu"]:
        if intent not in messages["topics"]:
            raise DataError(f"{messages_path}: menu entry {intent!r} has no label under 'topics'")
    return Knowledge(
        answers=MappingProxyType(answers),
        sources=MappingProxyType(sources),
        municipalities=MappingProxyType(municipalities),
        messages=MappingProxyType(messages),
        _aliases=MappingProxyType(aliases),
    )


def _load_sources(path: Path) -> dict[str, dict[str, str]]:
    data = strip_lines(load(path))
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: expected a mapping of source keys to {{file, title}}")
    return data


def _load_answers(directory: Path, sources: Mapping[str, Any]) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise DataError(f"{directory}: no answer files")
    for path in files:
        item = load(path)
        at = where(path, item)
        if not isinstance(item, dict):
            raise DataError(f"{at}: expected a mapping with intent, text and sources")
        intent, text = item.get("intent"), item.get("text")
        if not isinstance(intent, str) or not isinstance(text, str) or not text.strip():
            raise DataError(f"{at}: 'intent' and a non-empty 'text' are required")
        if intent in answers:
            raise DataError(f"{at}: a second answer for intent {intent!r}")
        cited = item.get("sources") or []
        if not cited:
            raise DataError(f"{at}: answer {intent!r} cites no source")
        for key in cited:
            if key not in sources:
                raise DataError(f"{at}: answer {intent!r} cites unknown source {key!r}")
        local = tuple(item.get("local") or ())
        for key in local:
            if key not in LOCAL_FIELDS:
                raise DataError(f"{at}: unknown local field {key!r}; use {LOCAL_FIELDS}")
        replies = item.get("quick_replies") or []
        if not all(isinstance(r, str) and r.strip() for r in replies):
            raise DataError(f"{at}: quick_replies must be non-empty strings")
        answers[intent] = Answer(intent, text, tuple(cited), tuple(replies), local)
    return answers


def _load_municipalities(directory: Path, sources: Mapping[str, Any]) -> tuple[dict[str, Municipality], dict[str, str]]:
    found: dict[str, Municipality] = {}
    aliases: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        item = load(path)
        at = where(path, item)
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("name"), str):
            raise DataError(f"{at}: a municipality needs 'id' and 'name'")
        if item.get("source") not in sources:
            raise DataError(f"{at}: municipality {item['id']!r} cites unknown source {item.get('source')!r}")
        clean = strip_lines(item)
        fields = {k: clean.get(k) for k in (*LOCAL_FIELDS, "notes")}
        names = [item["id"], item["name"], *(item.get("aliases") or [])]
        muni = Municipality(item["id"], item["name"], item["source"], tuple(names), MappingProxyType(fields))
        found[muni.id] = muni
        for name in names:
            aliases[basic_normalize(str(name))] = muni.id
    return found, aliases
