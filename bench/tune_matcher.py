"""Choose the lexical weights by k-fold cross-validation over intents.yaml's own examples.

The lexical part alone (no model, per-example fields on): how the weights of
LexicalConfig were chosen before issue 13. The model's weights, the mix and the gate
are chosen by bench/cv_matcher.py. The FAQ suites under tests/faq are the held-out test;
they are never used here. Prints top-1 accuracy per weight setting.
Usage: python bench/tune_matcher.py [--folds 5]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.operations.settings import Settings
from bot.understanding.analyzer import Analyzer
from bot.understanding.intents import Intent, load_intents
from bot.understanding.lexical import LexicalConfig
from bot.understanding.matcher import Matcher, MatcherConfig
from bot.understanding.normalize import Normalizer, load_lexicon
from bot.understanding.tokenizer import shared_tokenizer


def folds(intents: tuple[Intent, ...], k: int) -> list[tuple[list[Intent], list[tuple[str, str]]]]:
    out = []
    for fold in range(k):
        train, test = [], []
        for intent in intents:
            keep = [e for i, e in enumerate(intent.examples) if i % k != fold]
            test += [(e, intent.name) for i, e in enumerate(intent.examples) if i % k == fold]
            train.append(replace(intent, examples=tuple(keep) or intent.examples[:1]))
        out.append((train, test))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings.from_env()
    analyzer = Analyzer(Normalizer(load_lexicon(settings.knowledge_dir / "lexicon.yaml")), shared_tokenizer())
    intents = tuple(i for i in load_intents(settings.intents_path))
    splits = folds(intents, args.folds)
    grid = itertools.product((0.2, 0.3, 0.4), (0.15, 0.25, 0.35), (0.1, 0.2, 0.3), (0.1, 0.25), (0.5, 0.7, 0.9))
    results = []
    for w_word, w_char, w_reading, w_fuzz, share in grid:
        lexical = LexicalConfig(w_word=w_word, w_char=w_char, w_reading=w_reading, w_fuzz=w_fuzz, example_share=share,
                                per_example=True)
        config = MatcherConfig(lexical=lexical, model_min_examples=float("inf"))
        correct = total = 0
        for train, test in splits:
            matcher = Matcher(train, analyzer, config)
            for text, name in test:
                correct += matcher.rank(text, 1)[0].intent == name
                total += 1
        results.append((correct / total, config))
        print(f"{correct / total:.3f} word={w_word} char={w_char} reading={w_reading} fuzz={w_fuzz} share={share}", flush=True)
    best = max(results, key=lambda r: r[0])
    print("best", best)


if __name__ == "__main__":
    main()
