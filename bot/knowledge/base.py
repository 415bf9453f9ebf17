"""The knowledge base: answers, their sources, municipality profiles and the bot's own phrases.

Everything is loaded once into immutable objects and cross-checked at start-up, with
errors that name the file and line: every answer's sources exist, and every answer to
a question of fact rests on at least one official page (a blog may be a second source,
never the only one); every municipality names its page and when its data was checked;
every message the engine or the dialogue asks for by name is present.

An answer is short first (`text`, at most about 250 characters, the answer to the
question before anything else), with `details` behind 「詳しく」 and `parts` that a
follow-up can ask for alone ("コンビニは?" after the forgotten-PIN answer). Its official
sources go out with it as links, the municipality's own page first when one is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.knowledge.message import Link, Message
from bot.knowledge.yamlfile import DataError, load, strip_lines, where
from bot.text import basic

LOCAL_FIELDS = ("counter", "hours", "reservation", "phone", "notes")
_LOCAL_LABELS = {"counter": "窓口", "hours": "受付時間", "reservation": "予約", "phone": "電話", "notes": "ご注意"}
TEXT_MAX_CHARS = 250  # the first bubble of an answer; the rest goes behind 「詳しく」
MAX_LINKS = 2  # official pages shown under an answer
STALE_YEARS = 2  # local data older than this is said to be of its year
# Intents that state no fact (greetings, the menu): the project's own words may be their only source.
NO_FACTS = frozenset({"greeting", "thanks", "goodbye", "help", "cancel"})


@dataclass(frozen=True)
class Part:
    when: tuple[str, ...]  # words of a follow-up that ask for this part
    text: str


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    sources: tuple[str, ...]
    quick_replies: tuple[str, ...] = ()
    local: tuple[str, ...] = ()
    details: str = ""
    parts: tuple[Part, ...] = ()
    links: tuple[Link, ...] = ()  # its official sources, in the order cited


@dataclass(frozen=True)
class Municipality:
    id: str
    name: str
    source: str
    aliases: tuple[str, ...]
    fields: Mapping[str, Any]  # counter, hours, reservation, phone, notes: None where the source is silent
    page: Link | None = None  # the municipality's own page on the certificates
    checked_on: date | None = None  # when we last checked the fields against its pages
    updated_on: date | None = None  # the page's own date, when it shows one

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
        return self.municipalities.get(self._aliases.get(basic(key), ""))

    def links(self, answer: Answer, municipality: Municipality | None) -> tuple[Link, ...]:
        """The official pages under an answer: the municipality's own first, then the answer's."""
        own = (municipality.page,) if municipality is not None and municipality.page is not None else ()
        return tuple(dict.fromkeys((*own, *answer.links)))[:MAX_LINKS]

    def render(self, intent: str, municipality: Municipality | None, said: frozenset[str] = frozenset(),
               today: date | None = None) -> list[Message]:
        """An answer's first bubble (with 「詳しく」 when it has details) and its local note.

        `said` holds the notes this conversation has already heard: the general "ask your
        municipality" note is said once.
        """
        answer = self.answers[intent]
        replies = (self.message("more_label"), *answer.quick_replies) if answer.details else answer.quick_replies
        messages = [Message(answer.text.strip(), replies, self.links(answer, municipality))]
        if answer.local and not (municipality is None and "check_local" in said):
            messages.append(Message(self.local_note(answer.local, municipality, today)))
        return messages

    def render_details(self, intent: str, municipality: Municipality | None) -> list[Message]:
        answer = self.answers.get(intent)
        if answer is None or not answer.details:
            return [Message(self.message("no_more"))]
        return [Message(answer.details.strip(), answer.quick_replies, self.links(answer, municipality))]

    def render_part(self, intent: str, index: int, municipality: Municipality | None) -> list[Message]:
        answer = self.answers[intent]
        return [Message(answer.parts[index].text.strip(), answer.quick_replies, self.links(answer, municipality))]

    def local_note(self, wanted: Iterable[str], municipality: Municipality | None, today: date | None = None) -> str:
        if municipality is None:
            return self.message("check_local")
        wanted = tuple(wanted)
        lines = municipality.local_lines(wanted)
        if not lines:
            return self.message("local_unknown", name=municipality.name)
        missing = [_LOCAL_LABELS[k] for k in wanted if k != "notes" and not municipality.fields.get(k)]
        if missing:
            lines.append(self.message("local_partly_unknown", name=municipality.name, fields="・".join(missing)))
        as_of = municipality.updated_on
        if today is not None and as_of is not None and (today.year - as_of.year) * 12 + today.month - as_of.month \
                > STALE_YEARS * 12:
            lines.append(self.message("local_stale", year=as_of.year, name=municipality.name))
        return "\n".join([self.message("local_heading", name=municipality.name), *lines])

    def topic(self, intent: str) -> str:
        return str(self.messages["topics"][intent])


REQUIRED_MESSAGES = (
    "fallback", "fallback_topics", "clarify", "check_local", "local_heading", "local_unknown", "local_partly_unknown",
    "local_stale", "topics", "menu", "contact_hint", "more_label", "no_more",
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
    for answer in answers.values():
        if answer.intent not in NO_FACTS and not answer.links:
            raise DataError(f"{directory / 'answers' / (answer.intent + '.yaml')}: answer {answer.intent!r} "
                            f"cites no official source with a url (a blog or the rules table alone is not enough)")
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


def _load_sources(path: Path) -> dict[str, dict[str, Any]]:
    raw = load(path)
    data = strip_lines(raw)
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: expected a mapping of source keys to {{title, url, official}}")
    for key, entry in data.items():
        at = where(path, raw.get(key)) if isinstance(raw, dict) else str(path)
        if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
            raise DataError(f"{at}: source {key!r} needs a title")
        url = entry.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise DataError(f"{at}: source {key!r}: url must be an http(s) address")
        if entry.get("official") and not url:
            raise DataError(f"{at}: source {key!r} is official but has no url")
    return data


def _official_links(cited: Iterable[str], sources: Mapping[str, Any]) -> tuple[Link, ...]:
    """The cited sources that are official pages, as links; only https ones go to citizens.

    National pages (go.jp: J-LIS, the My Number Card site, ministries) come first: they hold
    for every municipality, where one city's page is second-best for a citizen of another.
    """
    links = []
    for key in cited:
        entry = sources[key]
        if entry.get("official") and str(entry.get("url", "")).startswith("https://"):
            links.append(Link(_short_title(str(entry["title"])), str(entry["url"])))
    return tuple(sorted(links, key=lambda link: not _national(link.url)))


def _national(url: str) -> bool:
    host = url.split("/")[2]
    return host.endswith(".go.jp") and not host.endswith(".lg.jp")


def _short_title(title: str) -> str:
    """A page's title as a link says it: a note after its quoted name is dropped."""
    return re.sub(r"」\s*[((].*[))]\s*$", "」", title.strip())


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
        if len(text.strip()) > TEXT_MAX_CHARS:
            raise DataError(f"{at}: answer {intent!r}: text is {len(text.strip())} characters; keep the first "
                            f"bubble within {TEXT_MAX_CHARS} and move the rest to details")
        details = item.get("details") or ""
        parts = []
        for part in item.get("parts") or []:
            if not isinstance(part, dict) or not part.get("when") or not isinstance(part.get("text"), str):
                raise DataError(f"{at}: answer {intent!r}: each part needs 'when' (words) and 'text'")
            parts.append(Part(tuple(str(w) for w in part["when"]), part["text"]))
        answers[intent] = Answer(intent, text, tuple(cited), tuple(replies), local, str(details), tuple(parts),
                                 _official_links(cited, sources))
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
        page_url, checked = item.get("page_url"), item.get("checked_on")
        if not isinstance(page_url, str) or not page_url.startswith("https://"):
            raise DataError(f"{at}: municipality {item['id']!r} needs page_url, its official page (https)")
        if not isinstance(checked, date):
            raise DataError(f"{at}: municipality {item['id']!r} needs checked_on, the day its data was checked")
        updated = item.get("updated_on")
        if updated is not None and not isinstance(updated, date):
            raise DataError(f"{at}: municipality {item['id']!r}: updated_on must be a date (YYYY-MM-DD)")
        page = Link(_short_title(str(item.get("page_title") or sources[item["source"]]["title"])), page_url)
        muni = Municipality(item["id"], item["name"], item["source"], tuple(names), MappingProxyType(fields),
                            page, checked, updated)
        found[muni.id] = muni
        for name in names:
            aliases[basic(str(name))] = muni.id
    return found, aliases
