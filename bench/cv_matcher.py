"""Choose the matcher's weights and thresholds by k-fold cross-validation over intents.yaml.

Each fold trains a matcher (its model included) on the other folds' examples and
records, for every held-out example, the evidence the matcher weighs (lexical scores,
the model's probabilities, deciding concepts). The weights are then chosen on that
out-of-fold evidence: the model's share and the concept boost by in-domain top-1, the
gate's weights by a logistic fit that is itself cross-fitted (fitted on the other
folds' evidence, applied to this fold's), and the gate's threshold by the rate of
in-domain questions turned away. The FAQ suites under tests/faq are never used here.

    python bench/cv_matcher.py [--folds 5] [--evidence /tmp/cv.npz] [--reuse] [--styles DIR...]

Prints the figures per setting, the chosen setting (paste it into MatcherConfig /
GateConfig), and top-1 / turned away / out-of-domain recognised per style and per intent
when --styles names the YAML files the examples were folded from.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.yamlfile import parse as parse_yaml
from bot.operations.settings import Settings
from bot.understanding.analyzer import Analyzer
from bot.understanding.gate import Evidence, gate_features
from bot.understanding.intents import Intent, load_intents
from bot.understanding.lexical import LexicalIndex
from bot.understanding.logreg import SparseRows, fit
from bot.understanding.matcher import Matcher, MatcherConfig
from bot.understanding.normalize import Normalizer, load_lexicon
from bot.understanding.tokenizer import shared_tokenizer


def folds(intents: tuple[Intent, ...], k: int) -> list[tuple[list[Intent], list[tuple[str, int]]]]:
    """Example i of each intent is held out in fold i % k (as bench/tune_matcher.py)."""
    out = []
    for fold in range(k):
        train, test = [], []
        for n, intent in enumerate(intents):
            keep = [e for i, e in enumerate(intent.examples) if i % k != fold]
            test += [(e, n) for i, e in enumerate(intent.examples) if i % k == fold]
            train.append(replace(intent, examples=tuple(keep) or intent.examples[:1]))
        out.append((train, test))
    return out


def collect(intents: tuple[Intent, ...], analyzer: Analyzer, config: MatcherConfig, k: int) -> dict[str, np.ndarray]:
    """Out-of-fold evidence for every example."""
    rows: dict[str, list] = defaultdict(list)
    for fold, (train, test) in enumerate(folds(intents, k)):
        started = time.perf_counter()
        matcher = Matcher(train, analyzer, replace(config, model_min_examples=0))
        assert matcher.model is not None
        # The same intents' documents without the per-example fields: cheaper, and compared here.
        intent_only = LexicalIndex(matcher.model.intent_words, matcher.model.intent_readings, [None] * len(train),
                                   replace(config.lexical, per_example=False))  # with the model, per_example None is this
        for text, label in test:
            f = analyzer.features(text)
            e = matcher.evidence(f)
            rows["lexical"].append(e.lexical)
            rows["lexical_intent"].append(intent_only.scores(f))
            rows["model"].append(e.model)
            rows["concepts"].append(e.concepts)
            rows["against"].append(e.concepts_against)
            rows["label"].append(label)
            rows["fold"].append(fold)
            rows["text"].append(text)
        print(f"  fold {fold}: {len(test)} held out, {time.perf_counter() - started:.1f} s", flush=True)
    return {key: np.array(value) for key, value in rows.items()}


def mixed(ev: dict[str, np.ndarray], model_weight: float, boost: float, lexical: str = "lexical") -> np.ndarray:
    scores = model_weight * ev["model"] + (1 - model_weight) * ev[lexical] + boost * ev["concepts"]
    return np.minimum(scores, 1.0)


def top1(ev: dict[str, np.ndarray], in_domain: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The best in-domain intent of each example."""
    return np.where(in_domain[None, :], scores, -1.0).argmax(axis=1)


def gate_matrix(ev: dict[str, np.ndarray], in_domain: np.ndarray) -> np.ndarray:
    inside, outside = np.flatnonzero(in_domain), np.flatnonzero(~in_domain)
    return np.array([
        gate_features(Evidence(ev["lexical"][i], ev["model"][i], ev["concepts"][i], int(ev["against"][i])), inside, outside)
        for i in range(len(ev["label"]))
    ])


def fit_gate(x: np.ndarray, ours: np.ndarray, l2: float = 1e-3) -> tuple[float, np.ndarray]:
    """Binary logistic regression (bias, weights) on the gate's four numbers; classes weigh alike."""
    rows = SparseRows.from_rows([(np.arange(x.shape[1]), row.astype(np.float32)) for row in x])
    weight = np.where(ours, 0.5 / ours.sum(), 0.5 / (~ours).sum())
    model = fit(rows, ours.astype(np.int64), x.shape[1], 2, l2, 500, weight)
    w = model.weights[:, 1] - model.weights[:, 0]
    return float(model.bias[1] - model.bias[0]), w.astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--evidence", default="/tmp/cv_evidence.npz")
    parser.add_argument("--reuse", action="store_true", help="tune on the evidence file of an earlier run")
    parser.add_argument("--styles", nargs="*", default=[], help="source YAML files, to report per style")
    parser.add_argument("--max-turned-away", type=float, default=0.03)
    parser.add_argument("--floor", type=float, default=0.3, help="the floor the threshold is chosen with")
    parser.add_argument("--l2", type=float, help="the model's L2 penalty (default: ModelConfig's)")
    parser.add_argument("--focus-weight", type=float, help="the model's weight of the asking sentences")
    parser.add_argument("--focus-share", type=float, help="the lexical score's share of the asking sentences")
    parser.add_argument("--field-weights", help="the model's field weights, comma-separated (words,chars,readings,synonyms,concepts)")
    parser.add_argument("--min-df", type=int)
    parser.add_argument("--ood-weight", type=float)
    args = parser.parse_args()
    config = MatcherConfig()
    model = config.model
    if args.l2 is not None:
        model = replace(model, l2=args.l2)
    if args.focus_weight is not None:
        model = replace(model, focus_weight=args.focus_weight)
    if args.field_weights:
        model = replace(model, field_weights=tuple(float(w) for w in args.field_weights.split(",")))
    if args.ood_weight is not None:
        model = replace(model, out_of_domain_weight=args.ood_weight)
    if args.min_df is not None:
        model = replace(model, min_df=args.min_df)
    config = replace(config, model=model)
    if args.focus_share is not None:
        config = replace(config, lexical=replace(config.lexical, focus_share=args.focus_share))
    print("settings:", config.model, "focus_share", config.lexical.focus_share)
    settings = Settings.from_env()
    intents = load_intents(settings.intents_path)
    names = [i.name for i in intents]
    in_domain = np.array([i.in_domain for i in intents])
    if args.reuse:
        with np.load(args.evidence) as data:
            ev = {k: data[k] for k in data.files}
    else:
        analyzer = Analyzer(Normalizer(load_lexicon(settings.knowledge_dir / "lexicon.yaml")), shared_tokenizer())
        ev = collect(intents, analyzer, config, args.folds)
        np.savez(args.evidence, **ev)
    labels = ev["label"]
    inside = in_domain[labels]

    print("\nin-domain top-1 (the best in-domain intent, no rejection), by the lexical part (full: with the "
          "per-example fields; intent: the intents' documents only), the model's share and the concept boost:")
    results = []
    for lexical in [k for k in ("lexical", "lexical_intent") if k in ev]:
        for weight, boost in itertools.product((0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), (0.0, 0.05, 0.1, 0.2, 0.3)):
            right = top1(ev, in_domain, mixed(ev, weight, boost, lexical)) == labels
            results.append((right[inside].mean(), weight, boost, lexical))
            print(f"  {lexical:<15} model {weight:.1f} boost {boost:.2f}: {right[inside].mean():.4f}")
    best_top1, weight, boost, lexical_key = max(results)
    print(f"chosen: {lexical_key} model_weight={weight} concept_boost={boost} (top-1 {best_top1:.4f}); "
          f"lexical alone {max(r[0] for r in results if r[1] == 0.0 and r[2] == 0.0):.4f}, "
          f"model alone {max(r[0] for r in results if r[1] == 1.0 and r[2] == 0.0):.4f}")
    ev["lexical"] = ev[lexical_key]

    x = gate_matrix(ev, in_domain)
    ours_true = inside
    belief = np.zeros(len(labels))
    for fold in np.unique(ev["fold"]):
        here = ev["fold"] == fold
        bias, w = fit_gate(x[~here], ours_true[~here])
        belief[here] = 1 / (1 + np.exp(-(bias + x[here] @ w)))
    bias, w = fit_gate(x, ours_true)
    print(f"\ngate fitted on all out-of-fold evidence: bias={bias:.3f} w_model={w[0]:.3f} w_margin={w[1]:.3f} "
          f"w_concepts_for={w[2]:.3f} w_concepts_against={w[3]:.3f}")
    mass_only = 1 / (1 + np.exp(-x[:, 0]))
    predicted = top1(ev, in_domain, mixed(ev, weight, boost))
    print("floor  threshold   turned away   ood recognised   in-domain right (cross-fitted gate | model mass alone)")
    print("(floor: the best in-domain mixed score must be at least this too, MatcherConfig.accept_threshold)")
    best_score = np.where(in_domain[None, :], mixed(ev, weight, boost), -1.0).max(axis=1)
    chosen = None
    for floor in (0.0, 0.25, 0.3):
        for threshold in np.round(np.arange(0.2, 0.81, 0.05), 2):
            line = []
            for b in (belief, mass_only):
                accepted = (b >= threshold) & (best_score >= floor)
                turned = (~accepted & inside).sum() / inside.sum()
                ood = (~accepted & ~inside).sum() / (~inside).sum()
                right = (accepted & inside & (predicted == labels)).sum() / inside.sum()
                line.append(f"{turned:.3f}  {ood:.3f}  {right:.3f}")
                if b is belief and floor == args.floor and turned <= args.max_turned_away:
                    chosen = threshold
            print(f"  {floor:.2f}  {threshold:.2f}      " + "   |   ".join(line))
    print(f"chosen threshold: {chosen} (with floor {args.floor}: the highest whose turned-away rate is at most {args.max_turned_away})")

    if args.styles:
        style_of = {}
        for source in args.styles:
            data = parse_yaml(Path(source).read_text(encoding="utf-8"))
            items = data if isinstance(data, list) else [x for v in data.values() for x in v]
            for item in items:
                style_of[str(item["text"]).strip()] = item["style"]
        accepted = (belief >= (chosen or 0.5)) & (best_score >= args.floor)
        ok = np.where(inside, accepted & (predicted == labels), ~accepted)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, text in enumerate(ev["text"]):
            groups[style_of.get(str(text), "(examples before issue 13)")].append(i)
        print("\nper style: right (in-domain: accepted and right; out-of-domain: turned away), n")
        for style, idx in sorted(groups.items()):
            print(f"  {style:<28} {ok[idx].mean():.3f}  {len(idx)}")
        print("per intent:")
        for n, name in enumerate(names):
            idx = labels == n
            print(f"  {name:<22} {ok[idx].mean():.3f}  {idx.sum()}")


if __name__ == "__main__":
    main()
