"""Which slot a date fills by the words around it: "生年月日は…", "…生まれ", "…に発行".

The clause before a date and the clause after it are read for a label word; the card or
the certificates are told apart by the words of both clauses. Part of reading a message
(bot.conversation.reading); nothing here knows the dialogue's state.
"""

from __future__ import annotations

import re

from bot.text import nfkc_folded as normal

# The words around a date that say which slot it fills. One alternation, tried left
# to right, so a longer phrase ("在留期間の満了日", "前の証明書の期限") wins over the
# generic word inside it ("満了", "期限"). Label words are also read in kana: typed in
# half-width katakana (ｾｲﾈﾝｶﾞｯﾋﾟ, ｶｰﾄﾞ ｺｳﾌﾋﾞ) they reach here as katakana.
_LABELS = re.compile("|".join((
    r"(?P<residence_expires_on>在留(?:期間|期限|カード)?の?(?:満了日?|有効期限|期限|有効期間)?|ざいりゅう|ビザ|滞在(?:期間|期限)?)",
    r"(?P<previous_expires_on>(?:前の|以前の|古い|旧|更新前の?|前回の?|今までの|これまでの|前)(?:電子)?(?:証明書の?)?"
    r"(?:有効)?(?:期限|満了日?|有効期間))",
    r"(?P<birth_date>生年月日|生まれ|産まれ|うまれ|誕生日?|たんじょうび?|せいねんがっぴ|^\s*生|(?<=\s)生(?=\s*$)|セイネンガッピ|タンジョウビ?|ウマレ"
    r"|birthday|birth date|date of birth|born)",
    r"(?P<card_expires_on>カードの?(?:有効)?(?:期限|有効期間))",
    r"(?P<notice>通知書?(?:が|は)?[^、。0-9]{0,6}(?:届|とど)|届い|届き|とどい)",  # "通知書は…ごろ届きました": no certificate's day
    r"(?P<card_issued_on>カードの?\s*(?:交付|発行|受け?取り?|取得|作成|コウフ|ハッコウ|ウケトリ)(?:日|ビ)?|カード\s*(?:は|:)?\s*$)",
    r"(?P<expires_on>有効期限(?!通知)|有効期間|期限(?!通知)|満了日?|きげん|キゲン|切れ|まで)",
    r"(?P<card_applied_on>申請|申し?込|もうしこ|しんせい|シンセイ|モウシコ)",
    r"(?P<issued_on>発行|交付|更新|取得|作成|作っ|作り|つくっ|受け?取|受領|うけと|もら[っいうえ]|貰[っいうえ]|もろ[たう]|手続|登録|入れ|いれ|こうしん|はっこう|コウシン|ハッコウ|コウフ|ウケト|発効|issued|received|renewed|got|(?:電子)?証明書\s*(?:は|:)\s*$)",
)))
_CARD = re.compile(r"カード|かーど|card")
_ASKS_EXPIRY = re.compile(r"\s*(?:で|なら|だと|の場合)[、,]?\s*(?:有効)?(?:期限|きげん)(?:は|が)?\s*(?:いつ|何|なに|どう|教え|知り|を?計算)")
_EXPIRY_ASKED = re.compile(r"\s*(?:の)?(?:有効|ゆうこう)?(?:期限|きげん)(?:は|わ|って)\s*[??]?\s*")  # "…r4.5.6 期限は"
_CERTIFICATE = re.compile(r"証明書|しょうめいしょ|ショウメイショ|jpki|certificate")
_STAY = re.compile(r"在留|ざいりゅう|ビザ")
RENEWED = re.compile(r"更新|こうしん")
# A clause that ends like a label ("生年月日は", "発行日:", "在留期間の満了日") names the date after it.
_ENDS_AS_LABEL = re.compile(r"(?:は|が|も|:|=|→|って|とは|日|び|日付|月日|期限|満了日?|期間|\bis|\bwas|\bon)\s*$")
_DELIMS = re.compile(r"[、。,.!?;\n]")

SAME = re.compile(r"同じ|おなじ|オナジ|一緒|いっしょ|イッショ|同時|どうじ|同日")
NOT_SAME = re.compile(r"(?:同じ|おなじ|一緒|いっしょ|同日)(?:日|ひ)?(?:じゃ|では|で)(?:なく|なかっ|ない|ありません)")
# "期限の1か月前に更新した": inside the 3-month window (the 6th-birthday rule), or outside it.
BEFORE_EXPIRY = re.compile(r"(?:期限|満了|切れる)(?:が切れる|の|より)?\s*(?:(?P<n>[0-9]{1,3})\s*(?P<unit>か月|ヶ月|カ月|ケ月|ヵ月|日|週間)"
                            r"|(?P<soon>少し|直|すぐ|ちょっと|数日|半年|1年|一年))\s*(?:前|まえ)")


def classify(clause: str, after: bool, around: str, wider: str = "") -> tuple[str, bool, bool] | None:
    """(slot, card_too, renewed) for the label in a clause: the first one after a date, the last before it.

    Whether an issue word is about the card or the certificates is read from `around`,
    both clauses of the date ("カードは2019年4月1日に受け取りました"); a period of stay also from
    `wider`, the clause before them ("在留期間は更新していて、正しくは2029年4月30日まででした").
    """
    clause = BEFORE_EXPIRY.sub("", clause)
    if after and (_ASKS_EXPIRY.match(clause) or _EXPIRY_ASKED.fullmatch(clause)):
        return None  # "…2024年9月1日で期限いつ?": the question, not what the date is
    # "18歳の誕生日に受け取った": a birthday that came round, not the birth date
    matches = [m for m in _LABELS.finditer(clause) if not (m.lastgroup == "birth_date" and clause[:m.start()].endswith("歳の"))]
    if not matches:
        return None
    match = matches[0] if after else matches[-1]
    slot = match.lastgroup or ""
    if slot == "birth_date" and match.group(0) == "生" and not after and not re.search(r"(?:^|\s)生\s*$", clause):
        return None  # "…生" after a date is its label; before one, only standing alone ("生 1950/2/14")
    card_too = renewed = False
    if slot == "expires_on" and _STAY.search(around + wider):
        slot = "residence_expires_on"  # "在留期間があります(2031年8月31日まで)"
    if slot == "card_applied_on" and _CERTIFICATE.search(around) and not _CARD.search(around):
        slot = "issued_on"  # certificates are issued at the counter the day they are asked for
    if slot == "issued_on":
        renewed = bool(RENEWED.fullmatch(match.group(0)))
        if _CARD.search(around):
            if _CERTIFICATE.search(around) or SAME.search(around) and not NOT_SAME.search(around):
                card_too = True
            else:
                slot = "card_issued_on"
    return slot, card_too, renewed


def label_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool, bool] | None]:
    """The label of each date span, read from the clause before and after it.

    A label right before a date ("生年月日は…") is the strongest; otherwise the words
    after it ("…生まれ", "…に発行した"), unless those words are the next date's label
    ("…で、発行日は…"); otherwise any label word before it.
    """
    labels: list[tuple[str, bool, bool] | None] = []
    named_before = False
    for i, (start, end) in enumerate(spans):
        prev_end = spans[i - 1][1] if i else 0
        next_start = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        gap = _DELIMS.split(normal(text[prev_end:start]))
        # the words between two dates start with the first one's label ("…生まれで、…"), unless that
        # one had its label before it ("誕生日が X でカードもらったのが Y")
        before = gap[-1] if len(gap) > 1 or not i or named_before else _after_first_label(gap[-1])
        if len(gap) > 2 and classify(before, False, before) is None:
            # "それと生年月日、1日ずれてました、1981年2月3日です": named a clause earlier
            named = next((g for g in reversed(gap[1:-1]) if _ENDS_AS_LABEL.search(g) and classify(g, False, g)), None)
            before = named or before
        parts = _DELIMS.split(normal(text[end:next_start]), maxsplit=1)
        after = parts[0]
        rest = normal(text[end:next_start]).lstrip()
        if rest[:1] in ("、", ",") and not _LABELS.search(before) and len(_DELIMS.split(parts[1], maxsplit=1)) > 1:
            # "昨日、電子証明書を更新しました": the date as the topic, its words in the clause after the
            # comma, when nothing before names it and that clause ends before the next date
            # (not "…、発行日は<date>"; not a new sentence)
            after = _DELIMS.split(parts[1], maxsplit=1)[0]
        # "…生 1950/2/14 カード 2016/3/3": terse, each label word stands alone before its date
        after_is_next_label = len(parts) == 1 and i + 1 < len(spans) and (
            bool(_ENDS_AS_LABEL.search(after)) and _only_label_at_end(after) or after[:1].isspace() and _alone(after))
        around = before + after
        wider = gap[-2] if len(gap) > 1 else ""
        b, a = classify(before, False, around, wider), classify(after.lstrip(), True, around, wider)
        # A label before the date wins, but "期限 S58.4.1生": 期限 is what is asked (no expiry is a birth
        # date); and "カードは" alone before it is the topic, which the date's own words decide
        # ("マイナンバーカードは2022年3月20日に申請して": the application day).
        if not i and len(spans) > 1 and b is not None and _ASKED_FIRST.fullmatch(before):
            b = None  # "期限 S55.7.7 R5.2.1": the question, then the dates
        # (a label word alone, apart from the date before it: "…2021/2/14 生 1950/2/14", not "…3日生 2024年…")
        stands_alone = before[-1:].isspace() and (not i or before[:1].isspace()) and _alone(before)
        weak = b is not None and a is not None and (b[0] == "expires_on" and a[0] == "birth_date"
                                                    or _CARD_TOPIC.search(before) is not None
                                                    and not (stands_alone and a[0] == "expires_on"))
        named_before = bool(b and (_ENDS_AS_LABEL.search(before) or stands_alone) and not weak)
        if named_before and b is not None:
            # "電子証明書は2023年10月2日に更新しました": named before, renewed after
            renewed = b[2] or b[0] == "issued_on" and a is not None and a[0] == "issued_on" and a[2]
            labels.append((b[0], b[1], renewed))
        elif a and not after_is_next_label:
            labels.append(a)
        elif b is None and (_BOTH_TOPIC.search(before) or _BOTH_AFTER.match(after)):
            labels.append(("issued_on", True, False))  # "カードと証明書は2022年6月1日です": both that day
        else:
            labels.append(b)
    return labels


_CARD_TOPIC = re.compile(r"カード\s*(?:は|:)?\s*$")
_BOTH_TOPIC = re.compile(r"カード\s*(?:と|も|ト|モ)\s*(?:電子)?(?:証明書|ショウメイショ)(?:も|モ)?\s*(?:は|:|も|ハ|モ)?\s*$")
# "2023年3月1日にカードと証明書" (no verb): both that day
_BOTH_AFTER = re.compile(r"^\s*(?:に|で|ニ)?\s*(?:マイナンバー)?カード(?:と|も)(?:電子)?証明書(?:を|も)?\s*$")
_ASKED_FIRST = re.compile(r"\s*(?:有効)?(?:期限|きげん)(?:は|って|いつ|を)?\s*(?:計算|けいさん|教えて|おしえて)?\s*[??]?\s*")


def _alone(words: str) -> bool:
    """Whether the words are a label word and nothing else ("生", "前期限", "カード")."""
    return bool(words.strip()) and _LABELS.fullmatch(words.strip()) is not None


def _only_label_at_end(between: str) -> bool:
    """Whether the words between two dates are all the second one's label ("…、発行日は"), not the
    first one's followed by more ("娘(2015年5月5日生まれ)のカードは2023年2月2日に…")."""
    first = _LABELS.search(between)
    if first is not None and ")" in between[first.end():]:
        return False  # "息子(平成20年10月10日生まれ)が令和6年…": the bracket closes the first date's words
    return first is None or first.end() >= len(between.rstrip()) - 2


def _after_first_label(between: str) -> str:
    """The words between two dates without the first one's label, when more follows it."""
    first = _LABELS.search(between)
    if first is None or _only_label_at_end(between):
        return between
    return between[first.end():]


def label_of(norm: str, part: re.Match[str] | None) -> str | None:
    """The slot named in the clause of a lone year, month or day ("生まれた年は2011年でした")."""
    if part is None:
        return None
    label = label_spans(norm, [(part.start(), part.end())])[0]
    if label is None:  # "証明書の発行日ですが、…令和5年ではなく令和4年でした": named in a clause before
        earlier = norm[:part.start()]
        label = classify(earlier, False, earlier)
    return label[0] if label else None


# "失効したため、…新しく発行してもらいました": issued anew after the old ones lapsed, not renewed early
_LAPSED = re.compile(r"失効(?:した|して|後|の後)|(?:期限|きげん)(?:が)?切れ(?:た|て)(?:から|後|ので|ため)")


def in_window(norm: str) -> bool | None:
    """Whether a renewal said to be some time before the old expiry was inside its 3-month window;
    None when not said, or when it could be either (3か月前: the window opens the day after)."""
    if _LAPSED.search(norm):
        return False
    said = BEFORE_EXPIRY.search(norm)
    if said is None or not RENEWED.search(norm):
        return None
    soon = said.group("soon")
    if soon:
        return soon not in ("半年", "1年", "一年")
    n, unit = int(said.group("n")), said.group("unit")
    days = n if unit == "日" else n * 7 if unit == "週間" else n * 30
    if days < 85:
        return True
    return False if days > 95 else None


# "カードをもらった日は覚えていません": the card's day not known (not "the card's day, the same")
CARD_DAY_UNKNOWN = re.compile(r"カード(?:を|の)?(?:もら|貰|受け?取|作|交付)[^、。]{0,6}(?:日|ひ)(?:は|が)?[^、。]{0,4}"
                              r"(?:覚えて(?:い)?(?:ない|ません)|わから|分から|不明|忘れ)")
