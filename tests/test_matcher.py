"""The matcher ranks any intents file: these tables use a small one of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analyzer import Analyzer, ngrams
from bot.bm25 import BM25
from bot.intents import Intent, load_intents
from bot.matcher import Matcher, MatcherConfig
from bot.normalize import Normalizer, load_lexicon
from bot.settings import ROOT
from bot.tokenizer import shared_tokenizer
from bot.yamlfile import DataError

INTENTS = (
    Intent("forgot_pin", ("暗証番号を忘れました", "パスワードがわからない", "暗証番号がロックされた")),
    Intent("renewal_window", ("いつから更新できますか", "更新はいつから可能", "更新の受付開始日")),
    Intent("fee", ("手数料はいくらですか", "費用はかかりますか", "料金を教えて")),
    Intent("garbage", ("ゴミの出し方を教えて", "燃えるゴミの日はいつ"), kind="out_of_scope"),
)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(Normalizer(load_lexicon(ROOT / "knowledge" / "lexicon.yaml")), shared_tokenizer())


@pytest.fixture(scope="module")
def matcher(analyzer: Analyzer) -> Matcher:
    return Matcher(INTENTS, analyzer, MatcherConfig(accept_threshold=0.3), exact={"料金表": "fee"})


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("暗証番号を忘れました", "forgot_pin"),  # exact
        ("あんしょうばんごうをわすれた", "forgot_pin"),  # hiragana only: readings meet
        ("暗唱番号わすれちゃった", "forgot_pin"),  # misconversion via the lexicon
        ("ﾊﾟｽﾜｰﾄﾞ忘れた", "forgot_pin"),  # half-width kana
        ("更新っていつからできるの?", "renewal_window"),
        ("こうしん いつから", "renewal_window"),
        ("手数料 いくら", "fee"),
        ("料金表", "fee"),  # an extra exact phrase (a quick-reply label)
    ],
)
def test_ranks_the_right_intent_first(matcher: Matcher, question: str, intent: str) -> None:
    result = matcher.match(question)
    assert result.intent == intent
    assert result.ranking[0].intent == intent


def test_exact_hit_scores_one(matcher: Matcher) -> None:
    result = matcher.match("暗証番号を忘れました")
    assert result.exact and result.score == 1.0


def test_unrelated_question_gets_no_intent(matcher: Matcher) -> None:
    result = matcher.match("明日の東京の天気を知りたい")
    assert result.intent is None
    assert result.score < 0.3


def test_out_of_scope_intent_answers_like_no_match(matcher: Matcher) -> None:
    result = matcher.match("ゴミの出し方がわからない")
    assert result.ranking[0].intent == "garbage"
    assert result.intent is None


def test_rank_is_sorted_and_bounded(matcher: Matcher) -> None:
    ranking = matcher.rank("更新の手数料はいつから", top=3)
    assert len(ranking) == 3
    assert [c.score for c in ranking] == sorted((c.score for c in ranking), reverse=True)
    assert all(0.0 <= c.score <= 1.0 for c in ranking)
    assert len(matcher.rank("更新", top=99)) == len(INTENTS)


def test_close_scores_are_ambiguous(analyzer: Analyzer) -> None:
    twins = (Intent("a", ("更新の手続き",)), Intent("b", ("更新の手続き方法",)))
    result = Matcher(twins, analyzer, MatcherConfig(accept_threshold=0.1, clarify_margin=0.5)).match("更新の手続きについて")
    assert result.ambiguous


def test_answer_text_is_a_secondary_field(analyzer: Analyzer) -> None:
    intents = (
        Intent("a", ("申請について",), answer="窓口で印鑑登録の申請ができます"),
        Intent("b", ("申請について教えて",), answer="転入届の提出方法"),
    )
    assert Matcher(intents, analyzer).rank("印鑑登録", top=1)[0].intent == "a"


def test_bm25_normalised_scores() -> None:
    index = BM25([["暗証", "番号"], ["更新", "手続き"], ["番号", "更新"]])
    scores = index.scores(["暗証", "番号"])
    assert scores.argmax() == 0
    assert 0.0 < scores[0] <= 1.0
    assert index.scores(["未知語"]).max() == 0.0
    # An unknown word in the query lowers every score: it is information no document holds.
    assert index.scores(["暗証", "番号", "未知語"])[0] < scores[0]


def test_ngrams_of_short_text() -> None:
    assert ngrams("a", (2, 3)) == ["a"]
    assert ngrams("", (2, 3)) == []


def test_intents_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  - name: a\n    examples: [x]\n  - name: b\n    examples: []\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"intents.yaml:4: intent 'b' needs a non-empty list 'examples'"):
        load_intents(path)


def test_intents_file_rejects_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text("intents:\n  - {name: a, examples: [x]}\n  - {name: a, examples: [y]}\n", encoding="utf-8")
    with pytest.raises(DataError, match="defined twice"):
        load_intents(path)


def test_a_plain_faq_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text("- name: q1\n  examples: [住民票の取り方]\n  answer: 窓口で請求できます\n", encoding="utf-8")
    assert load_intents(path)[0].answer == "窓口で請求できます"


# --- the real intents file: first messages that once landed on the wrong intent ------

@pytest.fixture(scope="module")
def real_matcher() -> Matcher:
    from bot.engine import Core
    from bot.settings import Settings

    return Core.load(Settings.from_env()).matcher


# (first message, the intent it must land on; None: out of domain)
FIRST_MESSAGES: list[tuple[str, str | None]] = [
    ("わかりません", "help"),  # lost, not thankful: the menu helps
    ("よくわからないんだけど", "help"),
    ("カードを落とした", "invalidation"),  # a lost card invalidates the certificates
    ("マイナカードどっかいってしもた", "invalidation"),
    ("期限が切れてしまった、手数料は?", "fee"),  # the question asked is the fee
    ("切れた後に発行し直すとお金いる?", "fee"),
    ("なくしたら何円かかるの", "fee"),
    ("更新をやめたい", "expired_certificate"),  # not renewing, not a dialogue cancel
    ("もう更新はしないつもり", "expired_certificate"),
    ("わかりました、ありがとう", "thanks"),
    ("平日行けないので土日でもやってる窓口ある?", "office_hours"),
    ("祝日は窓口しまってる?", "office_hours"),
    ("年末年始って何日まで受け付けてますか", "office_hours"),  # not the renewal window
    ("電子証明書は全部でいくつあるの", "about_certificates"),  # not the PIN kinds
    ("失効したらもう二度と作れないの?", "expired_certificate"),
    ("パスポートの期限が切れた", None),  # someone else's expiry
    ("銀行の暗証番号を変えたい", None),  # someone else's PIN
    ("確定申告の書き方を教えて", None),
    ("住民票をコンビニで取りたい", None),  # the service, not a certificate that stopped working
    ("電子証明書は何種類あるんですか", "about_certificates"),
    ("りようしゃしょうめいようとは", "about_certificates"),
    ("放っておいたらe-Taxで証明書エラーになった", "expired_certificate"),
    ("更新しないと何か困る?", "expired_certificate"),
    ("近所の病院を教えて", None),
]


@pytest.mark.parametrize(("question", "intent"), FIRST_MESSAGES)
def test_first_message_lands_on_its_intent(real_matcher: Matcher, question: str, intent: str | None) -> None:
    assert real_matcher.match(question).intent == intent
