"""What a citizen's message says that a dialogue can use: dates with the words around them, and answers.

One message may carry several dates; each is labelled by the clause before and after it
("平成2年5月10日生まれで、令和3年3月1日に発行"). A label names a slot; which slot an
unlabelled date fills is decided later, by meaning (bot.conversation.placing). Nothing
here knows the dialogue's state: a `Reading` is a plain account of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.conversation.dateparts import with_era
from bot.conversation.labels import CARD_DAY_UNKNOWN, NOT_SAME, SAME, classify, in_window, label_of, label_spans
from bot.conversation.people import SELF, THEIRS_AFTER, asked_for, disowned, owners_of
from bot.conversation.rewording import ERA_NAMES, one_date_each
from bot.rules.dates import DAY_NAMES, DateParseError, Found, ParsedDate, PartialDate, find_dates, year_alone, year_in
from bot.rules.eras import ERA_BY_SPELLING, era_of, number
from bot.text import nfkc_folded

normal = nfkc_folded  # the form every pattern here is written against

# "カードと一緒に", "カードも同じ日", "カードを作ったときに": the card came with the certificates.
_CARD_TOO = re.compile(
    rf"(?:カード|かーど)(?:の(?:交付|発行|受け?取り)日?)?[とも]?[^、。]{{0,4}}(?:{SAME.pattern}|その(?:時|とき|日|ひ))"
    r"|(?:カード|かーど)(?:を|さ)?(?:作|つく|受け?取|うけと|もら)[^、。]{0,6}(?:とき|時|際|日)"
    # "電子証明書もその日です", "その際に電子証明書も発行していただきました", "証明書も入れてもらいました":
    # the certificates too, with no day of their own
    rf"|(?:証明書|しょうめいしょ)[とも][^。、0-9年月]{{0,10}}?(?:{SAME.pattern}|その(?:時|とき|日|ひ|際)"
    r"|発行|交付|入れ|いれ|作|つく|もら|して)"
)
# "カードは別の日でした。2017年3月3日です": the one date given is the card's.
_CARD_OTHER_DAY = re.compile(r"(?:カード|かーど)(?:は|の(?:交付|受け?取り)?日?は)[^。、]{0,4}(?:別|違|ちが)"
                             r"|(?:カード|かーど)の(?:受け?取り?|交付|発行)日(?:を|は|が)")
_YES = re.compile(r"^(?:はい|ええ|うん|そう|yes|その通り|そのとおり)")
_NO = re.compile(r"^(?:いいえ|いえ|いや|no\b)|(?<!間)違[うい]|(?<!ま)ちが[うい]|別の日|別々|べつ")  # not 間違い
# Only at the end of the message: "暗証番号を忘れたらどうする?" is a question, not "I don't know".
DONT_KNOW_WORDS = (r"(?:(?:わから|分から|わかん)(?:ない|ん|へん)|わかりません|わかりまへん|分かりません|不明|(?:覚え|おぼえ)て(?:い)?(?:ない|ません)"
                   r"|知らない|しらない|知りません|(?:忘れ|わすれ)(?:た|ました|ちゃった|てしまった|てしまいました)|記憶にない|記憶がない)")
_DONT_KNOW = re.compile(DONT_KNOW_WORDS + r"(?:です|でした|んです|のです|な|ね|よ|けど)?[。!.…\s]*$")
# The holder is an adult ward (成年被後見人), who gets no signature certificate: said of the holder,
# or of the guardian acting for one. Not 被保佐人 or 被補助人, nor 任意後見, whose holders do get one.
_ADULT_WARD = re.compile(r"(?<!任意)(?:成年被後見人|被後見人|成年後見人|成年後見を受け)|せいねんひこうけんにん|せいねんこうけんにん")
# Said not to be one: denied, or under 保佐 or 補助, whose holders do get a signature certificate.
_NOT_ADULT_WARD = re.compile(r"(?:成年被後見人|被後見人|後見)(?:では|じゃ)(?:なく|ない|ありません)|被保佐人|被補助人|保佐人|補助人")
# No longer, or never, a foreign resident with a period of stay.
_NOT_FOREIGN = re.compile(r"外国籍(?:では|じゃ)(?:なく|ない|ありません)|外国人(?:では|じゃ)(?:なく|ない|ありません)"
                          r"|日本国籍|帰化|在留(?:期間|期限|カード)?は関係(?:ない|なかっ|ありません)")
_FOREIGN = re.compile(r"在留|ざいりゅう|外国籍|外国人|がいこく|ビザ|永住")
# No period of stay: permanent residence (not "永住者ではありません"), or no end said to exist
PERMANENT = (r"永住(?!(?:者)?(?:では|じゃ)(?:なく|ない|ありません))|定めはない|定めがない|定めなし|期限はない|期限がない"
             r"|期間はない")
_NO_STAY_LIMIT = re.compile(rf"{PERMANENT}|なし|ありません")  # also the short answers to the stay's question
_QUESTION = re.compile(r"どうなる|どうすれば|どうしたら|ですか|ますか|でしょうか|できる|できます|いくら|いつ|どこ|なに|何|教えて|知りたい|必要")
# Words that make a message a correction of what was said before. The weak ones are also how a
# plain answer is put in the past tense ("2019年11月20日でした"): they reopen a result, but do
# not turn a date away from the question just asked.
_CORRECTION = re.compile(r"間違|まちが|訂正|修正|ではなく|じゃなく|でなく|じゃなかっ|正しくは|ただしくは|見間違|勘違"
                         r"|(?:ちが|違)(?:いました|った|ってた|ってました)|^\W*(?:いや|いえ)\W*(?:やっぱり|やはり)")
_AMENDING = re.compile(r"やっぱり|やはり|でした|だった|でしたっけ")
# "XとYに手続き": both dates take the label after Y.
_AND = re.compile(r"^\s*(?:と|や|か|または|あるいは)\s*$")
# "姉は X、私は Y生まれ", "私が X、夫が Y に発行": two people's dates, in one sentence, with one label
# (not "証明書は X、カードは Y に受け取り": two things').
_PARALLEL = re.compile(r"^\s*[、,]\s*(?!\S*(?:カード|証明書))[^、。,\s0-9]{1,6}?(?:は|が)\s*$")
# "1990年5月10日(平成2年5月10日)": the same date again, in brackets.
_RESTATED = re.compile(r"^\s*\(\s*$")
# "X は間違いで Y", "X…すみません、Y の間違いです": Y is what was meant.
_MISTAKE = r"(?:間違|まちが|誤り|あやまり)"
_WRONG = re.compile(rf"^\s*(?:は|が)\s*{_MISTAKE}[^。]{{0,12}}$")
_MISTAKE_FOR = re.compile(rf"^\s*(?:の|に)\s*{_MISTAKE}")
# Between two dates of one slot, words that take the first back ("いや、発行日は", "訂正します、")
_INSTEAD = re.compile(r"(?:^|[、。,.…\s])(?:いや|いえ|やっぱり|やはり)|訂正|間違|まちが|じゃなく|ではなく"
                      r"|と思ったら|と思っていたら|かと思ったら|すみません|すいません|ごめん|失礼|ちが[うっ]|(?<!間)違[うっ]"
                      r"|(?:^|[、。,.…\s])あっ?(?=[、,\s0-9])")  # "5月25日、あっ26日です"
_RELATIVE_DAY = re.compile(r"今日|本日|きょう|明日|あした|明後日|あさって|昨日|きのう|一昨日|おととい")
_PAST_DAY = re.compile(r"昨日|きのう|一昨日|おととい")  # "昨日カードを受け取って…期限は?": a date told, in a question
_RELATIVE_MONTH = re.compile(r"今月|本月|来月|らいげつ|再来月|先月|せんげつ")
# A number of a day or a month: digits, or kanji numerals (二十一日)
_N = r"(?<![0-9〇一二三四五六七八九十年月/.\-])([0-9]{1,2}|[一二三四五六七八九十]{1,3})"
_DAY_ONLY = re.compile(rf"{_N}\s*(?:日|にち)")
_MONTH_ONLY = re.compile(rf"{_N}\s*(?:月|がつ)(?!\s*[0-9〇一二三四五六七八九十])")
# "X じゃなくて Y": X is the wrong value and Y takes its place (and its label).
_NOT = r"\s*[、,]?\s*(?:の)?(?:じゃ|では|で)なく(?:て)?(?:、|,|\s)*"
# "X じゃなくて Y", "X発行…じゃなくて Y", "X…いや、Y", "X(訂正:Y)": Y is meant
_NOT_BUT = re.compile(rf"^(?:[^、。0-9]{{0,6}}?[…・.]*{_NOT}|\s*[…・.]*\s*[、,]?\s*(?:いや|いえ)[、,\s]*"
                      r"|\s*\(\s*(?:訂正|正しくは|修正)\s*[::]?\s*)$")
# "2021年じゃなくて2022年", "5月じゃなくて7月", "10日じゃなくて12日": a part of a date, and the one it replaces
_PART_PAIRS = (
    ("month", re.compile(rf"{_N}\s*月{_NOT}{_N}\s*月(?!\s*[0-9〇一二三四五六七八九十])")),
    ("day", re.compile(rf"{_N}\s*日{_NOT}{_N}\s*日")),
)
_YEAR_ONLY = re.compile(r"(?:[0-9]{4}|(?:令和|平成|昭和|大正|れいわ|へいせい|しょうわ|[rhs])\s*(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3}|元))\s*(?:年|ねん)")
_BARE_DAY = re.compile(r"^\s*([0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*(?:日|にち)?\s*(?:です|でした|だよ|です。)?\s*[。!.]?\s*$")
_BARE_DAY_NAME = re.compile(rf"^\s*({'|'.join(sorted(DAY_NAMES, key=len, reverse=True))})\s*(?:です|でした|だよ)?\s*[。!.]?\s*$")


@dataclass(frozen=True)
class FoundDate:
    found: ParsedDate | PartialDate | DateParseError
    label: str | None  # the slot its words name; any form's, or card_expires_on
    card_too: bool = False  # the issue word is about the card and the certificates together
    renewed: bool = False  # the issue word is 更新
    replaces: ParsedDate | PartialDate | None = None  # X of "X じゃなくて this date": which value it corrects
    relative: bool = False  # 今日 in a question ("今日の天気は?"), 先月 as a birth date: no date answer
    restated: bool = False  # in brackets after another date, as the same date in another form
    vague: bool = False  # said by a relative word (先月, 昨日): without a label, only an answer to a question
    unsure: bool = False  # "1990年4月1日か11日": one of two days, the citizen is not sure which
    hedged: bool = False  # "たぶん2021年4月1日", "4月1日頃": a day the citizen is not sure of
    owner: str | None = None  # whose date: "母(昭和20年…生まれ)", "私は1975年…" (a word of _PERSON)


@dataclass(frozen=True)
class Reading:
    dates: tuple[FoundDate, ...] = ()
    same: bool = False  # 同じ, 一緒: the answer to "the same day as the certificates?"
    card_too: bool = False  # the card came with the certificates, said in so many words
    yes: bool = False
    no: bool = False
    dont_know: bool = False
    foreign: bool = False
    not_foreign: bool = False  # "外国籍ではありません", "帰化しました": takes a period of stay back
    in_window: bool | None = None  # renewed "期限の1か月前": inside the window; "半年前": outside; else None
    no_stay_limit: bool = False
    correction: bool = False  # words of correction (間違い, じゃなくて, 訂正)
    amending: bool = False  # softer words that may amend an answer (やっぱり, …でした)
    question: bool = False
    day: int | None = None  # a day alone ("10日", "ついたち")
    part_label: str | None = None  # the slot named beside a lone day, month or year ("誕生日は11日でした")
    year: int | None = None  # a year alone ("2021年です")
    month: int | None = None  # a month alone ("生まれ月は6月です"); of "4月じゃなくて6月", the last
    was: tuple[str, int] | None = None  # of "4月じゃなくて6月": ("month", 4), the value corrected
    eras: tuple[str, str] | None = None  # of "昭和じゃなくて平成": ("昭和", "平成"), the era of a date said before
    whose: str | None = None  # the one person whose dates are asked about: "母の証明書の期限は?"
    disowned: str | None = None  # the slot whose value was another person's: "今のは夫の生年月日でした"
    parts_after_dates: bool = False  # day, month, year: read after the dates, correcting one of them
    unclear: int | None = None  # X of "2じゃなくて3": a number corrected, of no date the bot can tell
    to_fix: str | None = None  # the slot of "生年月日を直したい", said without the right value
    apart: bool = False  # "証明書は…に別で発行": a day of its own, not the card's too


def adult_ward_said(text: str) -> bool | None:
    """True when a message says the holder is an adult ward, False when it says not, else None."""
    norm = normal(text)
    if _NOT_ADULT_WARD.search(norm):
        return False
    return True if _ADULT_WARD.search(norm) else None


def foreign_said(text: str) -> bool:
    """Whether a message says the holder is a foreign resident ("外国人です"), in any turn."""
    norm = normal(text)
    return bool(_FOREIGN.search(norm)) and not _NOT_FOREIGN.search(norm)


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(normal(text)))


def read(text: str, today: date) -> Reading:
    text = one_date_each(text, today)  # "1985年生まれ、誕生日は2月14日": 1985年2月14日生まれ
    norm = normal(text)
    not_same = bool(NOT_SAME.search(norm))
    question = is_question(text) or text.rstrip().endswith(("?", "?"))
    found = find_dates(text, today)
    labels = label_spans(text, [(s, e) for s, e, _ in found])
    between = [normal(text[found[i][1]:found[i + 1][0]]) for i in range(len(found) - 1)]
    for i in range(len(found) - 2, -1, -1):
        if labels[i] is None and (_AND.match(between[i]) or _PARALLEL.match(between[i])):
            # "2020年1月10日と2021年3月5日に手続き", "姉は1979年7月2日、私は1981年6月30日生まれ": both
            labels[i] = labels[i + 1]
    for i in range(len(found) - 1):
        if labels[i + 1] is None and _AND.match(between[i]):
            labels[i + 1] = labels[i]  # "生年月日は昭和48年2月2日と昭和50年3月3日です": both birth dates
    restating = [i + 1 < len(found) and bool(_RESTATED.match(between[i])) for i in range(len(found))]
    for i in range(len(found) - 1):
        if restating[i]:  # "1990年5月10日(平成2年5月10日)": one date, said twice
            labels[i] = labels[i + 1] = labels[i] or labels[i + 1]
    owners = owners_of(text, [start for start, _, _ in found], [end for _, end, _ in found])
    for i, (start, _, _) in enumerate(found):  # "今のは夫の生年月日でした。私のは1983年9月9日です": mine
        other = disowned(normal(text[:start]))
        if labels[i] is None and other is not None and owners[i] in (None, *SELF):
            labels[i] = (other, False, False)
    items: list[FoundDate] = []
    replaced: ParsedDate | PartialDate | None = None
    for i, ((start, end, parsed), label) in enumerate(zip(found, labels)):
        if i + 1 < len(found) and (_NOT_BUT.match(between[i]) or _WRONG.match(between[i])
                                   or labels[i + 1] in (label, None) and (_MISTAKE_FOR.match(normal(text[found[i + 1][1]:]))
                                                                          or _INSTEAD.search(between[i]))):
            # "生年月日は X じゃなくて Y", "X…すみません、Yの間違いです", "発行日は X。いや、発行日は Y":
            # Y, under X's label
            labels[i + 1] = labels[i + 1] or label
            replaced = parsed if not isinstance(parsed, DateParseError) else None
            continue  # X is the value being corrected, not a new one
        if i and restating[i - 1] and not isinstance(parsed, DateParseError) and parsed == found[i - 1][2]:
            continue
        said = text[start:end]
        replaces, replaced = replaced, None
        if i + 1 < len(found) and not isinstance(parsed, DateParseError):
            parsed = _mended(parsed, between[i], label[0] if label else None)  # "1984年2月10日、いや1985年でした"
        if replaces is not None:
            parsed = _with_parts_of(parsed, replaces)  # "2022年5月5日じゃなくて5月15日": in 2022
            if _FIRST_WAS_RIGHT.match(normal(text[end:])):
                parsed = replaces  # "8月8日…やっぱり8月18日…いや、最初ので合ってました": the first
        if label is None and len(found) == 1 and _CARD_OTHER_DAY.search(norm):
            label = ("card_issued_on", False, False)
        items.append(FoundDate(
            parsed, label[0] if label else None, bool(label and label[1]), bool(label and label[2]), replaces,
            # "先月の誕生日" is a birthday that came round, never the day one was born
            relative=bool(_RELATIVE_DAY.search(said)) and question and not (label and (
                _PAST_DAY.search(said) or _DONE.match(normal(text[end:]))))
            or bool(label and label[0] == "birth_date" and _RELATIVE_MONTH.search(said))
            or bool(THEIRS_AFTER.match(normal(text[end:]))),  # "1990年1月1日は夫の誕生日でした"
            restated=bool(i and restating[i - 1]),
            vague=bool(_RELATIVE_DAY.search(said) or _RELATIVE_MONTH.search(said)),
            unsure=bool(_OR_DAY.match(normal(text[end:])) or _OR_BEFORE.search(normal(text[:start]))),
            hedged=bool(_HEDGE_BEFORE.search(re.split(r"[、。,.!?\n]", normal(text[:start]))[-1])
                        or _HEDGE_AFTER.match(normal(text[end:]))),
            owner=owners[i],
        ))
    dates = _without_restatements(tuple(items))
    day = part_label = year = month = None
    pair: tuple[str, int, int] | None = None
    # A year alone after the dates, in words of correction ("…令和3年6月1日。すみません、令和4年でした"):
    # a part of one of them, read as a lone part is.
    tail = _BRACKETED.sub("", normal(text[found[-1][1]:])) if found else ""  # not "私(平成元年生)ではなく母の"
    after_dates = bool(found) and bool(_CORRECTION.search(tail) or _AMENDING.search(tail)
                                       or _INSTEAD.search(tail)) and bool(
        _YEAR_ONLY.search(tail) or _MONTH_ONLY.search(tail) or _DAY_ONLY.search(tail))
    # "その前に、生まれ月は5月じゃなくて6月でした。発行日は2021年5月20日です": a named part corrected first
    head = _BRACKETED.sub("", normal(text[:found[0][0]])) if found else ""
    before_dates = bool(head) and not after_dates and bool(_CORRECTION.search(head)) and bool(
        _MONTH_ONLY.search(head) or _DAY_ONLY.search(head) or _YEAR_ONLY.search(head)) and bool(_PART_NAMED.search(head))
    after_dates = after_dates or before_dates
    lone = head if before_dates else tail if after_dates else norm  # where a day, month or year alone is read
    if not found or after_dates:
        bare = _BARE_DAY.match(lone)
        named = _BARE_DAY_NAME.match(lone)
        if bare:
            day = number(bare.group(1))
        elif named:
            day = DAY_NAMES[named.group(1)]
        else:
            days = list(_DAY_ONLY.finditer(lone))
            if days:
                day = number(days[-1].group(1))  # "10日じゃなくて11日": the last is the one meant
                part_label = label_of(lone, days[0])
        years = list(_YEAR_ONLY.finditer(lone))
        # "生年月日1986年…いや、やっぱり1985年で合ってました": of several, the last is meant
        year = (year_alone(years[-1].group(0)) if len(years) > 1 else None) or year_alone(lone) or year_in(lone)
        months = [m for m in _MONTH_ONLY.finditer(lone) if 1 <= number(m.group(1)) <= 12]
        if months:
            month = number(months[-1].group(1))
            part_label = part_label or label_of(lone, months[0])
        if year is not None and part_label is None:
            part_label = label_of(lone, _YEAR_ONLY.search(lone))
        pair = _part_pair(lone)
        if pair is not None and pair[0] == "year":
            year = pair[2]  # year_in found the first, the one corrected
        if after_dates and not before_dates and part_label is None and dates:
            part_label = dates[-1].label  # "カードは2020年12月1日…いや、11月でした": the date just said
    numbers = _BARE_NUMBERS.search(normal(text[found[-1][1]:]) if found else norm)
    fix = _FIX.search(norm) if not found and day is None and month is None and year is None else None
    fix_label = classify(norm[:fix.start()], False, norm[:fix.start()]) if fix else None
    return Reading(
        dates=dates,
        unclear=int(numbers.group(1)) if numbers and pair is None else None,
        to_fix=fix_label[0] if fix_label else None,
        apart=bool(_APART.search(norm)),
        parts_after_dates=after_dates,
        same=bool(SAME.search(norm)) and not not_same,
        card_too=bool(_CARD_TOO.search(norm)) and not not_same and not CARD_DAY_UNKNOWN.search(norm),
        yes=bool(_YES.search(norm)),
        no=bool(_NO.search(norm)),
        dont_know=bool(_DONT_KNOW.search(norm)),
        foreign=foreign_said(text),
        not_foreign=bool(_NOT_FOREIGN.search(norm)),
        in_window=in_window(norm),
        no_stay_limit=bool(_NO_STAY_LIMIT.search(norm)),
        correction=bool(_CORRECTION.search(norm)),
        amending=bool(_AMENDING.search(norm)),
        question=question,
        day=day,
        part_label=part_label,
        year=year,
        month=month,
        was=None if pair is None else (pair[0], pair[1]),
        eras=_era_pair(norm) if not found else None,
        whose=asked_for(norm),
        disowned=disowned(norm),
    )


def _mended(parsed: ParsedDate | PartialDate, after: str, label: str | None) -> ParsedDate | PartialDate:
    """A date with the year, month or day that the words after it, in words of correction, put
    in its place ("1984年2月10日、いや1985年でした"); as it was when they say none, or one that cannot be."""
    after = _BRACKETED.sub("", after)  # "私(昭和45年生まれ)の分ではなく": another person's year, not a correction
    if not isinstance(parsed, ParsedDate) or not (_INSTEAD.search(after) or _CORRECTION.search(after)):
        return parsed
    own = "、".join(re.split(r"[、。,.!?;\n]", after)[:-1])  # not the next date's own words ("…。発行日は")
    named = classify(own, False, own)
    if named is not None and named[0] != label:
        return parsed  # "カードは…です。それと生年月日、1日ずれてました、…": of another date
    value = parsed.value
    year, months, days = year_in(after), list(_MONTH_ONLY.finditer(after)), list(_DAY_ONLY.finditer(after))
    eras = [ERA_BY_SPELLING[m.group(1)] for m in _ERA_ALONE.finditer(after)]
    said = era_of(value)
    if eras and year is None and said is not None:
        # "平成8年3月3日…すみません、元号は昭和でした", "昭和2年6月1日、あ、昭和じゃなくて平成でした": the last named
        moved = with_era(value.isoformat(), said.name, eras[-1])
        return ParsedDate(date.fromisoformat(moved)) if moved else parsed
    try:
        if year is not None:
            return ParsedDate(value.replace(year=year))
        if months:
            return ParsedDate(value.replace(month=number(months[-1].group(1))))
        if days:
            return ParsedDate(value.replace(day=number(days[-1].group(1))))
    except ValueError:
        pass
    return parsed


def _without_restatements(dates: tuple[FoundDate, ...]) -> tuple[FoundDate, ...]:
    """Without a date typed again without its year ("昨日(12月5日)", "9月1日は発行日…2022年9月1日"):
    the year is not missing, it was said."""
    full = {(d.found.value.month, d.found.value.day, d.label) for d in dates if isinstance(d.found, ParsedDate)}
    return tuple(d for d in dates if not (
        isinstance(d.found, PartialDate) and d.found.year is None and d.found.day is not None
        and any((d.found.month, d.found.day, label) in full for label in {d.label, None})))


def _with_parts_of(parsed: Found, replaced: ParsedDate | PartialDate) -> Found:
    """Y of "X じゃなくて Y" with the year X has and Y leaves out."""
    year = replaced.value.year if isinstance(replaced, ParsedDate) else replaced.year
    if not isinstance(parsed, PartialDate) or parsed.year is not None or year is None:
        return parsed
    try:
        return ParsedDate(parsed.on(year)) if parsed.day is not None else PartialDate(year, parsed.month, None)
    except ValueError:
        return parsed  # 2月29日 of a common year: asked for as typed


# "生年月日を直したい", "発行日が間違っていました": which date is wrong, without the right one
_FIX = re.compile(r"(?:直し|なおし|訂正し|修正し|変更し)(?:たい|て|ます|ていただ)|(?:間違|まちが)って(?:い)?(?:ました|た|る)")
_BARE_NUMBERS = re.compile(rf"(?<![0-9年月日/.\-])([0-9]{{1,2}}){_NOT}([0-9]{{1,2}})(?![0-9]|\s*(?:年|月|日|がつ|にち))")
_BARE_YEARS = re.compile(rf"(?<![0-9])((?:19|20)[0-9]{{2}})\s*年?{_NOT}((?:19|20)[0-9]{{2}})(?![0-9])")


def _part_pair(norm: str) -> tuple[str, int, int] | None:
    """(part, X, Y) of "X じゃなくて Y" said of a year, a month or a day alone."""
    bare = _BARE_YEARS.search(norm)
    if bare:
        return "year", int(bare.group(1)), int(bare.group(2))
    years = list(_YEAR_ONLY.finditer(norm))
    if len(years) >= 2 and re.fullmatch(_NOT, norm[years[0].end():years[1].start()]):
        x, y = year_alone(years[0].group(0)), year_alone(years[1].group(0))
        if x is not None and y is not None:
            return "year", x, y
    for part, pattern in _PART_PAIRS:
        pair = pattern.search(norm)
        if pair:
            return part, number(pair.group(1)), number(pair.group(2))
    return None


# An era alone, not the start of a year ("平成31年4月1日" is a date of its own)
_ERA_ALONE = re.compile(rf"({ERA_NAMES})(?!\s*(?:[0-9]|元|がん))")
_ERA_PAIR = re.compile(rf"({ERA_NAMES}){_NOT}({ERA_NAMES})(?!\s*(?:[0-9]|元|がん))")


_APART = re.compile(r"別で|別に|別の日|別々|違う日|ちがう日|証明書だけ|のままです|のままで")
_DONE = re.compile(r"[^、。!?\n]{0,16}?(?:ました|った|した|てきた|てもらった)(?:[、。!?\s]|$)")  # "今日…受け取りました"
_PART_NAMED = re.compile(r"(?:生まれ|誕生|発行|交付|カード)(?:た)?(?:月|日|年)|(?:生年月日|誕生日|発行日|交付日)の(?:月|日|年)")
_FIRST_WAS_RIGHT = re.compile(r"[^。!?\n]{0,12}?(?:最初|はじめ|初め)の(?:日付|ほう|方)?(?:で|が)(?:合って|あって|正し)")
_OR_BEFORE = re.compile(r"(?:日|月)\s*か\s*$")  # "2020年4月1日か4月2日": the second is unsure too
_HEDGE_BEFORE = re.compile(r"たぶん|多分|確か(?!め)|たしか(?!め)|おそらく|恐らく|だいたい|大体|およそ")
_HEDGE_AFTER = re.compile(r"\s*(?:頃|ごろ|くらい|ぐらい|前後|あたり|辺り)|[^、。,.!?\n]{0,12}?(?:かも|と思|はず|気がし)")
_OR_DAY = re.compile(r"\s*か\s*(?:(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*(?:日|月)|(?:19|20)[0-9]{2}\s*[年/.\-]|(?:令和|平成|昭和)\s*[0-9元])")
# ("…4月1日か11日", "7月末か8月の頭", "2021年4月1日か2022年4月1日")
_BRACKETED = re.compile(r"\([^()]*\)")
def _era_pair(norm: str) -> tuple[str, str] | None:
    """(X, Y) of "X じゃなくて Y" said of eras alone: 昭和20年 said for 平成20年."""
    pair = _ERA_PAIR.search(norm)
    if pair is None:
        return None
    x, y = ERA_BY_SPELLING[pair.group(1)], ERA_BY_SPELLING[pair.group(2)]
    return (x, y) if x != y else None
