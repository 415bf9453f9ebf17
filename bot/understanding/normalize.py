"""Text normalisation before tokenising: width, case, long vowels, and the lexicon.

bot.text.basic does the width and repetition work (neologdn); the lexicon
(knowledge/lexicon.yaml) rewrites misconversions and synonyms to one form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import jaconv
import yaml

from bot.knowledge.yamlfile import DataError, parse
from bot.text import basic


class LexiconError(DataError):
    """knowledge/lexicon.yaml is not what it must be; the message names the file."""


def load_lexicon(path: Path) -> dict[str, str]:
    """Map every variant (normalised) to its canonical form; errors name the file."""
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping of canonical form to variants")
    mapping: dict[str, str] = {}
    for canonical, variants in data.items():
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise LexiconError(f"{path}: {canonical!r} must map to a list of strings")
        # The canonical form maps to itself, so a shorter variant inside it (電子証明 in
        # 電子証明書) cannot rewrite it: the longest match wins.
        for variant in [str(canonical), *variants]:
            key = basic(variant)
            if key in mapping and mapping[key] != canonical:
                raise LexiconError(f"{path}: {variant!r} is listed under both {mapping[key]!r} and {canonical!r}")
            mapping[key] = str(canonical)
    return mapping


class Normalizer:
    def __init__(self, lexicon: Mapping[str, str]) -> None:
        self._lexicon = dict(lexicon)
        keys = sorted(self._lexicon, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    @property
    def lexicon(self) -> Mapping[str, str]:
        """Variant → canonical form: part of what a trained model's fingerprint covers."""
        return self._lexicon

    def __call__(self, text: str) -> str:
        text = basic(text)
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._lexicon[m.group(0)], text)
        return text


def to_katakana(text: str) -> str:
    return jaconv.hira2kata(text)
