"""Deciding words: the concepts that decide an intent, as staff wrote them in intents.yaml.

An intent may list, under `deciding`, named concepts with the words citizens use for
them: synonyms, readings, misconversions (fee: 手数料, 費用, タダ, いくら, ...). A message
that says one of them carries the concept. The matcher gives each concept found a
feature of its own (so a rare word counts with the weight its concept earned over all
the examples) and a direct boost to the concept's intent.

A word is found in the normalised message (after the lexicon, so 暗唱番号 is 暗証番号),
or, when its katakana reading is at least MIN_READING long, in the message's reading:
hiragana-only and misconverted input then still meets it (てすうりょう, 手数量).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

MIN_READING = 4  # shorter readings (ロック, タダ) occur inside too many other words


@dataclass(frozen=True)
class Concept:
    name: str  # "<intent>/<concept>", unique across the file
    intent: str
    words: tuple[str, ...]


def concepts_of(deciding: Mapping[str, Mapping[str, Sequence[str]]]) -> tuple[Concept, ...]:
    """Concepts from {intent: {concept: [words]}}, in file order.

    >>> [c.name for c in concepts_of({"fee": {"cost": ["手数料", "タダ"]}})]
    ['fee/cost']
    """
    return tuple(
        Concept(f"{intent}/{name}", intent, tuple(words))
        for intent, named in deciding.items()
        for name, words in named.items()
    )


class ConceptFinder:
    """Finds the concepts a normalised message carries, by its text and by its reading."""

    def __init__(
        self,
        concepts: Iterable[Concept],
        normalize: Callable[[str], str],
        read: Callable[[str], str],
    ) -> None:
        self.concepts = tuple(concepts)
        by_text: dict[str, set[str]] = {}
        by_reading: dict[str, set[str]] = {}
        for concept in self.concepts:
            for word in concept.words:
                text = normalize(word)
                if not text:
                    continue
                by_text.setdefault(text, set()).add(concept.name)
                reading = read(text)
                if len(reading) >= MIN_READING:
                    by_reading.setdefault(reading, set()).add(concept.name)
        self._by_text = {k: tuple(sorted(v)) for k, v in by_text.items()}
        self._by_reading = {k: tuple(sorted(v)) for k, v in by_reading.items()}
        self._text = _Words(self._by_text)
        self._reading = _Words(self._by_reading)

    def find(self, text: str, reading: str) -> tuple[str, ...]:
        """The names of the concepts found, sorted, each once."""
        found: set[str] = set()
        for word in self._text.finditer(text):
            found.update(self._by_text[word])
        for word in self._reading.finditer(reading):
            found.update(self._by_reading[word])
        return tuple(sorted(found))


class _Words:
    """Leftmost-longest, non-overlapping search for many words: Aho-Corasick (pyahocorasick).

    The automaton reports every occurrence in one pass in C; the few found are then taken
    from the left, the longest at each place. (Its own `iter_long` is not used: it has
    missed matches reached through failure links, pyahocorasick issues #133, #185.)
    A regex alternation of the 600 words cost 0.15-0.5 ms a message, a dictionary of first
    characters tried at each position 25-30 µs; this costs 5-13 µs.

    >>> _Words(["手数料", "手数", "タダ", "円"]).finditer("手数料はタダ?手数、100円")
    ['手数料', 'タダ', '手数', '円']
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for word in words:
            self._automaton.add_word(word, word)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def finditer(self, text: str) -> list[str]:
        if self._empty:
            return []
        # (start, -length) sorts each place's longest word first.
        hits = sorted([(end + 1 - len(word), -len(word), word) for end, word in self._automaton.iter(text)])
        found = []
        taken_until = 0
        for start, minus_length, word in hits:
            if start >= taken_until:
                found.append(word)
                taken_until = start - minus_length
        return found
