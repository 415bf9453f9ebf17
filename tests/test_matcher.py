"""The matcher ranks any intents file: these tables use a small one of their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from bot.knowledge.yamlfile import DataError
from bot.understanding.analyzer import Analyzer, ngrams
from bot.understanding.bm25 import BM25
from bot.understanding.intents import Intent, load_intents
from bot.understanding.lexical import LexicalConfig, _Alphabet
from bot.understanding.matcher import Matcher, MatcherConfig

INTENTS = (
    Intent("forgot_pin", ("暗証番号を忘れました", "パスワードがわからない", "暗証番号がロックされた")),
    Intent("renewal_window", ("いつから更新できますか", "更新はいつから可能", "更新の受付開始日")),
    Intent("fee", ("手数料はいくらですか", "費用はかかりますか", "料金を教えて")),
    Intent("garbage", ("ゴミの出し方を教えて", "燃えるゴミの日はいつ"), kind="out_of_scope"),
)


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
    from bot.operations.settings import Settings

    return Core.load(Settings.from_env()).matcher


# (first message, the intent it must land on; None: out of domain)
FIRST_MESSAGES: list[tuple[str, str | None]] = [
    ("わかりません", "help"),  # lost, not thankful: the menu helps
    ("よくわからないんだけど", "help"),
    ("カードを落とした", "lost_card"),  # stop the card first: the 24-hour line (lost_card is new)
    ("マイナカードどっかいってしもた", "lost_card"),
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


def reference_scores(intents: tuple[Intent, ...], analyzer: Analyzer, c: LexicalConfig, text: str) -> np.ndarray:
    """The lexical formula written plainly, one field and one intent at a time."""
    examples = [(i, analyzer.features(e)) for i, intent in enumerate(intents) for e in intent.examples]
    q = analyzer.features(text)
    words = [[w for i, f in examples if i == n for w in f.words] for n in range(len(intents))]
    readings = [[r for i, f in examples if i == n for r in f.readings] for n in range(len(intents))]
    whole = 0.5 * BM25(words, c.k1, c.b).scores(q.words) + 0.5 * BM25(readings, c.k1, c.b).scores(q.readings)
    answers = [analyzer.features(i.answer) if i.answer else None for i in intents]
    if any(answers):
        answer_docs = [a.words + a.chars if a else () for a in answers]
        whole = (1 - c.answer_weight) * whole + c.answer_weight * BM25(answer_docs, c.k1, c.b).scores(q.words + q.chars)
    if not c.per_example:
        return whole
    per_example = (
        c.w_word * BM25([f.words for _, f in examples], c.k1, c.b).scores(q.words)
        + c.w_char * BM25([f.chars for _, f in examples], c.k1, c.b).scores(q.chars)
        + c.w_reading * BM25([f.readings for _, f in examples], c.k1, c.b).scores(q.readings)
        + c.w_fuzz / 100 * process.cdist([q.reading], [f.reading for _, f in examples], scorer=fuzz.ratio, dtype=np.uint8)[0]
    ) / (c.w_word + c.w_char + c.w_reading + c.w_fuzz)
    best = [max((s for (i, _), s in zip(examples, per_example) if i == n), default=0.0) for n in range(len(intents))]
    return c.example_share * np.array(best) + (1 - c.example_share) * whole


WITH_ANSWERS = (
    Intent("forgot_pin", ("暗証番号を忘れました", "パスワードがわからない"), answer="窓口で暗証番号の再設定ができます"),
    Intent("no_examples", (), answer="更新の手続きは誕生日の3か月前から"),  # only the whole-intent part scores
    Intent("fee", ("手数料はいくらですか", "料金を教えて"), answer="手数料はかかりません"),
)


@pytest.mark.parametrize("per_example", [False, True], ids=["intents' documents", "and each example"])
@pytest.mark.parametrize("intents", [INTENTS, WITH_ANSWERS], ids=["examples only", "answers and an intent without examples"])
@pytest.mark.parametrize(
    "question",
    ["暗証番号わすれちゃった", "あんしょうばんごう", "更新っていつから?", "手数料 いくら", "ﾊﾟｽﾜｰﾄﾞ", "明日の天気", "?", "x" * 80, "ン"],
)
def test_scores_equal_the_plain_formula(analyzer: Analyzer, intents: tuple[Intent, ...], question: str, per_example: bool) -> None:
    config = MatcherConfig(lexical=LexicalConfig(per_example=per_example))
    matcher = Matcher(intents, analyzer, config)
    scores = matcher.lexical_scores(question)
    np.testing.assert_allclose(scores, reference_scores(intents, analyzer, config.lexical, question), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("question", "example"),
    [
        ("アンショウバンゴウ", "アンショウバンゴウヲワスレタ"),
        ("コウシン", "テスウリョウ"),
        ("ΩΩコウシンΩ", "コウシン"),  # characters no example holds match nothing, however many
        ("ΩΨコウ", "コウシン"),
        ("", "コウシン"),
    ],
)
def test_alphabet_keeps_every_ratio(question: str, example: str) -> None:
    alphabet = _Alphabet(["アンショウバンゴウヲワスレタ", "コウシン", "テスウリョウ"])
    coded_question, coded_example = question.translate(alphabet), example.translate(alphabet)
    assert fuzz.ratio(coded_question, coded_example) == fuzz.ratio(question, example)
    assert all(ord(ch) < 256 for ch in coded_question + coded_example)


@pytest.mark.parametrize(
    "scores",
    [[0.0] * 9, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.2, 0.5, 0.2, 0.5, 0.2, 0.2, 0.1], [0.3, 0.1], [0.4, 0.4, 0.4]],
)
def test_rank_breaks_ties_like_argpartition_then_a_stable_sort(analyzer: Analyzer, scores: list[float]) -> None:
    values = np.array(scores)
    matcher = Matcher(tuple(Intent(f"i{n}", (f"例文{n}",)) for n in range(len(values))), analyzer)
    top = min(5, len(values))
    idx = np.argpartition(-values, top - 1)[:top] if top < len(values) else np.arange(len(values))
    idx = idx[np.argsort(-values[idx], kind="stable")]
    assert [c.intent for c in matcher.rank_from(values, 5)] == [f"i{i}" for i in idx]


def test_names_are_reported_unless_the_intents_use_them(analyzer: Analyzer) -> None:
    # The turn log drops the names a match reports; a name the intents themselves use
    # (here a mascot's) is part of the topic, and the log keeps it.
    mascot = Intent("mascot", ("花子ちゃんって誰ですか", "花子ちゃんのグッズ"))
    matcher = Matcher((*INTENTS, mascot), analyzer, MatcherConfig(accept_threshold=0.3))
    assert matcher.match("花子ちゃんに会いたい").names == ()
    assert matcher.match("山田太郎です。手数料はいくらですか").names == ("山田", "太郎")
    assert matcher.match("手数料はいくらですか").names == ()
