"""In-process matching speed: one question ranked against our intents, and against 2,000 synthetic ones.

Prints the time to build each matcher, the median and p99 time to rank one question
(normalise + tokenise + score + top 5, as `Matcher.rank`), where that time goes
(features vs scoring), and the process's resident memory (VmRSS).

Targets: median ≤ 0.6 ms against intents.yaml (with its stored model, as the server
loads it), ≤ 2 ms against 2,000 intents (one example each: no model, lexical only).

    .venv/bin/python bench/bench_match.py [--questions 2000] [--synthetic 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.operations.faq import load_suites
from bot.operations.settings import Settings
from bot.understanding.analyzer import Analyzer
from bot.understanding.intents import Intent, load_intents
from bot.understanding.matcher import Matcher, MatcherConfig
from bot.understanding.normalize import Normalizer, load_lexicon
from bot.understanding.tokenizer import shared_tokenizer

SEED = 20260115

# Pieces of plausible municipal FAQ entries (not our domain's facts: only their shape matters).
TOPICS = [
    "住民票", "印鑑登録", "戸籍謄本", "転入届", "転出届", "国民健康保険", "国民年金", "児童手当", "保育園", "ごみの分別",
    "粗大ごみ", "犬の登録", "狂犬病予防注射", "固定資産税", "住民税", "軽自動車税", "納税証明書", "所得証明書", "介護保険",
    "後期高齢者医療", "母子手帳", "予防接種", "がん検診", "特定健診", "選挙の期日前投票", "図書館の利用カード", "市営住宅",
    "道路の陥没", "街灯の故障", "空き家の相談", "婚姻届", "出生届", "死亡届", "パスポート", "マイナ保険証", "公民館の予約",
    "体育館の予約", "放課後児童クラブ", "学童保育", "就学援助", "奨学金", "上下水道の開栓", "下水道の使用料", "水道料金",
    "防災無線", "避難所", "ハザードマップ", "自転車の駐輪場", "放置自転車", "ペットの火葬", "墓地の使用", "消費生活相談",
]
ACTIONS = [
    "の申請方法", "の手続き", "に必要な書類", "の手数料", "の受付時間", "の窓口", "を代理人が申請する方法", "をオンラインで申請するには",
    "の期限", "の更新", "の変更手続き", "の再発行", "を郵送で請求する方法", "の問い合わせ先", "の対象者", "の支払い方法", "の減免",
    "をコンビニで取得する方法", "の必要な持ち物", "を休日に手続きできるか",
]
QUESTION_ENDS = ["を教えてください", "はどうすればいいですか", "について知りたい", "はどこですか", "は?", "ってどうやるの", "を知りたいです"]
ANSWER_PARTS = [
    "市役所の{t}担当窓口で受け付けています。", "本人確認書類をお持ちください。", "手数料は1通300円です。",
    "平日の8時30分から17時15分まで受け付けています。", "代理人の場合は委任状が必要です。", "オンラインでも申請できます。",
    "郵送での請求も受け付けています。", "詳しくは担当課へお問い合わせください。", "申請から交付まで約1週間かかります。",
]

# Ways people vary a question, to turn the FAQ suites into ~2,000 distinct inputs.
PREFIXES = ["", "すみません、", "あの、", "質問です。", "教えてください。", "ちょっと聞きたいんだけど、"]
SUFFIXES = ["", "?", "。", "!", "…", "よろしくお願いします", "(急ぎです)"]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory from /proc/self/status; RssFile is the share of mapped files (SudachiPy's
    dictionary, shared between processes), RssAnon the process's own heap."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def questions(n: int, rng: random.Random) -> list[str]:
    base = [c.question for c in load_suites(sorted((ROOT / "tests" / "faq").glob("*.yaml")))]
    out = list(base)
    seen = set(out)
    while len(out) < n:
        text = rng.choice(PREFIXES) + rng.choice(base) + rng.choice(SUFFIXES)
        if text not in seen:
            seen.add(text)
            out.append(text)
    rng.shuffle(out)
    return out[:n]


def synthetic_intents(n: int, rng: random.Random) -> list[Intent]:
    intents = []
    pairs = [(t, a) for t in TOPICS for a in ACTIONS]
    rng.shuffle(pairs)
    for i in range(n):
        topic, action = pairs[i % len(pairs)]
        example = f"{topic}{action}{rng.choice(QUESTION_ENDS)}"
        if i >= len(pairs):  # past the distinct pairs, vary the wording so no two intents are the same
            example = rng.choice(PREFIXES) + example + rng.choice(SUFFIXES)
        answer = "".join(p.format(t=topic) for p in rng.sample(ANSWER_PARTS, 3))
        intents.append(Intent(f"synthetic_{i:04d}", (example,), answer))
    return intents


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, items: list[str]) -> list[float]:  # noqa: ANN001
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(label: str, ms: list[float], target: float | None = None) -> None:
    median = statistics.median(ms)
    verdict = "" if target is None else ("  ok" if median <= target else f"  MISSED (target {target} ms)")
    print(f"  {label:<34} median {median:7.3f} ms   p99 {percentile(ms, 99):7.3f} ms   max {max(ms):7.3f} ms{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--synthetic", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile the ranking against 2,000 intents")
    args = parser.parse_args()
    rng = random.Random(SEED)
    settings = Settings.from_env()
    rss_start = rss_mb()

    started = time.perf_counter()
    analyzer = Analyzer(Normalizer(load_lexicon(settings.knowledge_dir / "lexicon.yaml")), shared_tokenizer())
    analyzer.features("暗証番号を忘れました")  # loads SudachiPy's dictionary
    setup_ms = (time.perf_counter() - started) * 1000
    rss_tokenizer = rss_mb()
    ours = load_intents(settings.intents_path)
    started = time.perf_counter()
    matcher = Matcher(ours, analyzer, MatcherConfig(), model_path=settings.model_path)
    if matcher.model is None:
        print("  (no fresh stored model: it was trained here; run python -m bot train)")
    build_ours_ms = (time.perf_counter() - started) * 1000
    rss_ours = rss_mb()

    synthetic = synthetic_intents(args.synthetic, rng)
    started = time.perf_counter()
    big = Matcher(synthetic, analyzer, MatcherConfig())
    build_big_ms = (time.perf_counter() - started) * 1000
    rss_big = rss_mb()

    qs = questions(args.questions, rng)
    for q in qs[:50]:  # warm caches the way a running server has them
        matcher.rank(q)
        big.rank(q)

    print(f"bench_match: load average {os.getloadavg()[0]:.2f} at start; {len(qs)} questions; {len(ours)} intents ({sum(len(i.examples) for i in ours)} examples) "
          f"and {len(synthetic)} synthetic intents (1 example + answer each)")
    print(f"  tokenizer + lexicon load             {setup_ms:8.1f} ms")
    print(f"  build matcher, intents.yaml          {build_ours_ms:8.1f} ms")
    print(f"  build matcher, {len(synthetic)} synthetic        {build_big_ms:8.1f} ms")
    print("ranking one question (Matcher.rank, top 5):")
    report("features only (normalise+tokenise)", timed(analyzer.features, qs))
    report("against intents.yaml", timed(matcher.rank, qs), 0.6)
    report(f"against {len(synthetic)} synthetic intents", timed(big.rank, qs), 2.0)
    print(f"resident memory (VmRSS): after imports {rss_start:.0f} MB, + tokenizer {rss_tokenizer:.0f} MB, "
          f"+ our matcher {rss_ours:.0f} MB, + the synthetic one {rss_big:.0f} MB "
          f"(of which mapped files {rss_mb('RssFile'):.0f} MB, heap {rss_mb('RssAnon'):.0f} MB)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for q in qs:
            big.rank(q)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
