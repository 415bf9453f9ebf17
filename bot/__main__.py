"""Command line: `python -m bot rank | test-faq | chat | report | train` (see README)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.knowledge.yamlfile import DataError
from bot.operations.settings import ConfigError, Settings

if TYPE_CHECKING:  # the commands import what they need when run: `rank` starts without the bot
    from bot.knowledge.message import Message
    from bot.understanding.analyzer import Analyzer


def _analyzer(settings: Settings) -> Analyzer:
    from bot.understanding.analyzer import Analyzer
    from bot.understanding.normalize import Normalizer, load_lexicon
    from bot.understanding.tokenizer import shared_tokenizer

    return Analyzer(Normalizer(load_lexicon(settings.knowledge_dir / "lexicon.yaml")), shared_tokenizer())


def cmd_rank(args: argparse.Namespace, settings: Settings) -> int:
    from bot.understanding.intents import load_intents
    from bot.understanding.matcher import Matcher, MatcherConfig

    # The stored model serves only the intents it was trained on (its fingerprint says so);
    # any other file with enough examples gets a model trained here.
    matcher = Matcher(load_intents(Path(args.intents)), _analyzer(settings), MatcherConfig(),
                      model_path=settings.model_path)
    out = sys.stdout
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        ranking = [{"intent": c.intent, "score": c.score} for c in matcher.rank(text, args.top)]
        out.write(json.dumps({"text": text, "ranking": ranking}, ensure_ascii=False) + "\n")
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train the intent model from intents.yaml and store it, or (--check) say whether the stored one is fresh."""
    import logging

    from bot.engine import Core

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        from bot.engine import matcher_config
        from bot.understanding.intents import load_intents
        from bot.understanding.model import IntentModel, fingerprint
        from bot.understanding.normalize import load_lexicon

        stamp = fingerprint(load_intents(settings.intents_path), load_lexicon(settings.knowledge_dir / "lexicon.yaml"),
                            matcher_config(settings).model)
        stored = IntentModel.load(settings.model_path) if settings.model_path.exists() else None
        fresh = stored is not None and stored.fingerprint == stamp
        print(f"{settings.model_path}: {'fresh' if fresh else 'stale or missing: run python -m bot train'}")
        return 0 if fresh else 1
    core = Core.load(settings, stored_model=False)
    if core.matcher.model is None:
        print("the intents file has too few examples for a model; nothing stored")
        return 1
    core.matcher.model.save(settings.model_path)
    print(f"stored {settings.model_path} ({settings.model_path.stat().st_size // 1024} KB)")
    return 0


def cmd_test_faq(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine import Bot
    from bot.operations.faq import evaluate, format_evaluation, load_suites
    from bot.stores.sessions import MemoryStore

    if args.intents:
        settings = replace(settings, intents_path=Path(args.intents))
    cases = load_suites([Path(f) for f in args.files])  # before the bot: a bad file fails at once
    bot = Bot(settings, store=MemoryStore())
    evaluation = evaluate(cases, lambda text: bot.reply(text).intent)
    print(format_evaluation(evaluation, show_misses=not args.quiet))
    passed = evaluation["accuracy"] >= args.threshold and evaluation["worst_intent_accuracy"] >= args.min_intent
    if not passed:
        print(f"FAILED: accuracy {evaluation['accuracy']:.3f} (threshold {args.threshold}), "
              f"worst intent {evaluation['worst_intent_accuracy']:.3f} (minimum {args.min_intent})")
    return 0 if passed else 1


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.engine import Bot, InputError
    from bot.stores.sessions import MemoryStore

    bot = Bot(settings, store=MemoryStore())
    turn = bot.welcome(None, args.municipality)
    session = turn.session_id
    for message in turn.messages:
        _print_message(message)
    while True:
        try:
            text = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text.strip() in {"/quit", "/exit"}:
            return 0
        try:
            turn = bot.reply(text, session, args.municipality, channel="cli")
        except InputError as exc:
            print(f"[{exc.code}] {exc}")
            continue
        print(f"  [{turn.intent} {turn.confidence:.2f}]")
        for message in turn.messages:
            _print_message(message)


def _print_message(message: Message) -> None:
    print(message.text)
    if message.quick_replies:
        print("  ▶ " + " | ".join(message.quick_replies))


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.operations.report import format_report, unanswered_csv
    from bot.stores.turnlog import TurnLog

    until = datetime.now(ZoneInfo(settings.timezone))
    log = TurnLog(settings.db_path, retention_days=settings.log_retention_days)
    try:
        report = log.report(until - timedelta(days=args.days), until, limit=args.limit)
    finally:
        log.close()
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(unanswered_csv(report))
    else:
        print(format_report(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="My Number Card e-certificate bot tools")
    sub = parser.add_subparsers(dest="command", required=True)
    rank = sub.add_parser("rank", help="rank intents for questions on stdin, one per line; prints one JSON line each")
    rank.add_argument("--intents", required=True, help="an intents YAML file (name, examples, optional answer)")
    rank.add_argument("--top", type=int, default=5)
    faq = sub.add_parser("test-faq", help="run FAQ regression suites and print accuracy, misses and confusions")
    faq.add_argument("files", nargs="+")
    faq.add_argument("--threshold", type=float, default=0.85, help="minimum overall accuracy (default 0.85)")
    faq.add_argument("--min-intent", type=float, default=0.0, help="minimum accuracy of every intent (default 0)")
    faq.add_argument("--intents", help="evaluate against another intents file")
    faq.add_argument("--quiet", action="store_true", help="do not list the misses")
    chat = sub.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--municipality", default=None)
    train = sub.add_parser("train", help="train the intent model from intents.yaml and store it (MODEL_FILE)")
    train.add_argument("--check", action="store_true", help="exit 1 when the stored model is stale or missing")
    report = sub.add_parser("report", help="frequent unanswered questions and intent counts from the log")
    report.add_argument("--days", type=int, default=30)
    report.add_argument("--limit", type=int, default=20)
    report.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="csv: the unanswered questions for a spreadsheet (UTF-8 with BOM, opens in Excel)")
    args = parser.parse_args(argv)
    if args.command == "rank" and args.top < 1:
        parser.error("--top must be at least 1")
    handlers = {"rank": cmd_rank, "test-faq": cmd_test_faq, "chat": cmd_chat, "report": cmd_report, "train": cmd_train}
    try:
        return handlers[args.command](args, Settings.from_env())
    except (DataError, ConfigError) as exc:
        # A file or setting staff can mend: its message names the file and line (or the setting),
        # which a traceback would bury.
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
