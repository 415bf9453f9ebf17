"""The real intents file, as citizens write: long letters, deciding words, and close questions that are not ours.

The questions here were written for these tests; none is an example in intents.yaml, and
none comes from the FAQ suites.
"""

from __future__ import annotations

import pytest

from bot.understanding.matcher import Matcher


@pytest.fixture(scope="module")
def real_matcher() -> Matcher:
    from bot.engine import Core
    from bot.operations.settings import Settings

    return Core.load(Settings.from_env()).matcher


# Long, polite letters with background: accepted, and ranked right.
LETTERS: list[tuple[str, str]] = [
    ("はじめてお便りいたします。私は今年で八十二歳になります。主人を三年前に亡くし、今は一人で暮らしております。"
     "先日、市役所から封筒が届き、電子証明書の期限が近いと書いてありました。足が弱く、バスに乗って役所まで行くのがつらいのですが、"
     "近くに住む娘に代わりに行ってもらうことはできますでしょうか。", "renewal_proxy"),
    ("いつもお世話になっております。七十五歳の年金生活者です。孫に教わって、マイナポータルで医療費の確認をしておりました。"
     "ところが先月から、ログインしようとすると暗証番号が違うと出るようになり、何度か試すうちに全く受け付けなくなってしまいました。"
     "どうすれば元のように使えるようになるのでしょうか。", "forgot_pin"),
    ("私は六十八歳で、パソコンはあまり得意ではありません。息子が確定申告はe-Taxが便利だと申しますので、挑戦してみようと思っております。"
     "ただ、マイナンバーカードの証明書を使うのにお金がかかるのかどうかが気になっております。手数料などは必要なのでしょうか。", "fee"),
    ("拝啓 寒さ厳しき折、いかがお過ごしでしょうか。私は市内に住む七十歳の者です。昨年の春に隣町から引っ越してまいりました。"
     "その際、住所の変更はいたしましたが、カードに入っている署名用の証明書がどうなったのか、よく分かっておりません。"
     "引っ越しをすると、この証明書は使えなくなるものなのでしょうか。", "invalidation"),
    ("先日、買い物の帰りにバスの中で財布をなくしてしまいました。財布にはマイナンバーカードも入っておりました。"
     "警察にはまだ届けておりません。悪用されないか心配で夜も眠れません。まず何をすればよいのでしょうか。", "lost_card"),
    ("主人が昨年から介護施設に入っております。家庭裁判所で私が後見人に選ばれました。主人のカードの証明書の期限が近づいているのですが、"
     "後見人の私が手続きをする場合、どのような書類を持っていけばよいのでしょうか。", "legal_guardian"),
    ("平日は朝から晩まで仕事をしております。有給もなかなか取れません。電子証明書の更新のために窓口へ伺いたいのですが、"
     "土曜日や日曜日に開いている窓口はありますでしょうか。受付の時間も教えていただけますと助かります。", "office_hours"),
]


@pytest.mark.parametrize(("letter", "intent"), LETTERS, ids=[i for _, i in LETTERS])
def test_a_long_letter_about_our_topic_is_accepted_and_ranked_right(real_matcher: Matcher, letter: str, intent: str) -> None:
    result = real_matcher.match(letter)
    assert result.intent == intent, result.ranking[:3]
    assert result.ours >= real_matcher.config.gate.threshold


def test_background_does_not_lower_the_score_much(real_matcher: Matcher) -> None:
    # The same question alone and at the end of a letter: the letter must not fall below the gate.
    question = "代わりに家族が更新に行くことはできますか。"
    letter = "私は八十五歳です。足が悪く、外に出るのは病院へ行くときくらいです。息子は隣の市に住んでいて、週末に来てくれます。" + question
    alone, long = real_matcher.match(question), real_matcher.match(letter)
    assert alone.intent == long.intent == "renewal_proxy"
    assert long.ours >= real_matcher.config.gate.threshold


# Close to us, but not ours: other certificates, other cards, other services.
NOT_OURS: list[str] = [
    "印鑑登録証明書の手数料はいくらですか",
    "在留カードの更新はどこでできますか",
    "通知カードをなくしてしまいました",
    "マイナポイントはいつまで申し込めますか",
    "マイナ保険証の利用登録のやり方を教えてください",
    "住民票の写しを代理人が取るには委任状が必要ですか",
    "銀行のキャッシュカードの暗証番号を忘れました",
    "戸籍謄本を郵送で取り寄せたい",
    "運転免許証の更新はいつからできますか",
    "先月から一人暮らしを始めた大学生です。引っ越しのときに転入届を出すのを忘れていました。今から出しても大丈夫でしょうか。",
]


@pytest.mark.parametrize("question", NOT_OURS)
def test_close_questions_that_are_not_ours_are_refused(real_matcher: Matcher, question: str) -> None:
    result = real_matcher.match(question)
    assert result.intent is None, (result.ours, result.ranking[:3])
    assert result.in_domain_score < 0.5  # what the API reports as the confidence: low means "not ours"


# The deciding word beats the generic ones.
DECIDING: list[tuple[str, str]] = [
    ("証明書の発行ってタダでやってもらえるの?", "fee"),
    ("暗証番号って全部で何桁?", "pin_types"),
    ("暗証番号を3回間違えて使えなくなった", "forgot_pin"),
    ("窓口は何時まで開いてますか", "office_hours"),
    ("期限の何か月前から更新できますか", "renewal_window"),
]
# The issue's own examples: generic words (JPKI, マイナ, 使える) pull towards
# about_certificates, and fee wins by less than a hundredth. At worst the bot asks which of
# the two is meant; a boost for deciding words lowered cross-validated top-1 (bench/cv_matcher.py).
CLOSE_CALLS: list[tuple[str, str]] = [("JPKIって無料で使えるの?", "fee"), ("マイナの証明書、タダ?", "fee")]


@pytest.mark.parametrize(("question", "intent"), CLOSE_CALLS)
def test_the_deciding_word_is_first_or_offered(real_matcher: Matcher, question: str, intent: str) -> None:
    result = real_matcher.match(question)
    assert result.intent == intent or (result.ambiguous and intent in [c.intent for c in result.ranking[:2]])


@pytest.mark.parametrize(("question", "intent"), DECIDING)
def test_the_deciding_word_decides(real_matcher: Matcher, question: str, intent: str) -> None:
    assert real_matcher.match(question).intent == intent
