"""Whose dates a message gives and whose it asks about: "母(昭和20年…生まれ)…私は…。母の証明書の期限は?".

A date is the person's named last before it in its sentence; the person asked about is named
with what is asked ("Xの期限", "Xの分から"). Part of reading a message (bot.conversation.reading).
"""

from __future__ import annotations

import re

from bot.conversation.labels import classify
from bot.text import nfkc_folded as normal

# People a citizen asks for. Whose a date is: the person named just before it ("私は…", "母(…");
# whose dates are asked about: "母の証明書の期限", "妻の分" (not "私と夫の": two people).
_PERSON = (r"祖母|祖父|母親|父親|義母|義父|母|父|妻|夫|主人|私|わたし|自分|長男|長女|次男|次女|三男|三女|娘|息子|孫|家族"
           r"|姉|兄|妹|弟|子ども|子供|こども")
_OWNER = re.compile(rf"({_PERSON})(?:は|が|の|も|\(|:|\s|(?=[0-9]|昭和|平成|令和|$))")  # "長女2010年9月9日"
_WHOSE = re.compile(rf"((?:{_PERSON})(?:(?:と|や|、)(?:{_PERSON}))*)の(?:方の)?(?:(?:(?:電子)?証明書の|カードの|分の?)?(?:有効)?期限"
                    r"|(?:分|ぶん)(?:から|を|も|だけ|[。、,!?]|$)|(?:電子)?証明書(?:は|って)(?:いつ|何)|(?:を|も)\s*(?:お願い|計算))")  # not "妻の分は後で聞きます"


def owners_of(text: str, starts: list[int], ends: list[int]) -> list[str | None]:
    """Whose each date is: the person named last before it in its sentence, else the one the
    date before it in the same sentence had ("夫の生年月日は X、発行日は Y": both the husband's)."""
    owners: list[str | None] = []
    joined = False  # the date before was in the brackets of a person joined by と ("私(…)と妻(…)")
    for i, start in enumerate(starts):
        before = normal(text[ends[i - 1] if i else 0:start])
        sentences = re.split(r"[。!?\n]", before)
        named = list(_OWNER.finditer(sentences[-1]))
        if named:
            last = named[-1]
            # "私(…)と妻(…)は2023年6月1日に一緒に…": two people's day, no one person's
            # (but "私(…)と夫(1976/6/6生)": the date in the brackets after a person is theirs)
            inside = last.group(0).endswith("(") and ")" not in sentences[-1][last.end():]
            after_and = sentences[-1][:last.start()].endswith(("と", "や"))
            owners.append(None if after_and and not inside else last.group(1))
            joined = after_and and inside
        else:
            # (not past the bracket of a person joined by と: "私(…)と妻(…)は2023年6月1日に一緒に…" is both
            # people's day; but "妻(…生)のカードは…" is still hers)
            owners.append(owners[-1] if i and len(sentences) == 1 and not (joined and ")" in before) else None)
            joined = False
    return owners


# "次は妻", "今度は息子の分": the next person
NEXT_PERSON = re.compile(rf"(?:次|つぎ|今度|こんど)は\s*({_PERSON})(?=の|を|も|で|、|。|!|\?|\s|$)")


def asked_for(norm: str) -> str | None:
    """The one person whose dates a message asks about, if it names one."""
    people = {p for found in _WHOSE.finditer(norm) for p in re.findall(_PERSON, found.group(1))}
    people |= set(NEXT_PERSON.findall(norm))
    return people.pop() if len(people) == 1 else None


SELF = frozenset({"私", "わたし", "自分"})


def same_person(person: str) -> str:
    """One name for the writer, however they say it."""
    return "私" if person in SELF else person


# "今のは夫の生年月日でした": the date said before was someone else's
_DISOWNED = re.compile(rf"(?:今の|いまの|さっきの|先ほどの|先程の|前の|それ|これ|あれ)(?:は|って)\s*({_PERSON})の"
                       r"([^、。,.!?\n]{1,12}?)(?:でした|です|だった|やった|だ|で)")


def disowned(norm: str) -> str | None:
    """The slot whose value said before was another person's, by the words of `norm`."""
    found = _DISOWNED.search(norm)
    if found is None or same_person(found.group(1)) == "私":
        return None
    label = classify(found.group(2), False, found.group(2))
    return label[0] if label else None


def encode_births(births: dict[str, str]) -> str:
    """Two people's birth dates, kept while the bot asks whose to compute: "私=1980-01-01;妻=1982-02-02"."""
    return ";".join(f"{person}={value}" for person, value in births.items())


def decoded_births(encoded: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in encoded.split(";"))


# "二人とも2022年5月1日に", "どちらも同じ日に": the other dates are both people's
BOTH_PEOPLE = re.compile(r"二人とも|ふたりとも|2人とも|両方とも|どちらも|ともに|一緒に|いっしょに|同じ日に")


def chosen_birth(norm: str, encoded: str) -> tuple[str, str] | None:
    """(person, birth date) of the one of them `norm` names ("私の分から", "妻です"), if it names one."""
    births = decoded_births(encoded)
    named = {same_person(p) for p in re.findall(_PERSON, norm)} & set(births)
    if len(named) != 1:
        return None
    person = named.pop()
    return person, births[person]


# "1990年1月1日は夫の誕生日でした。私は…": the date just said is someone else's, taken back
THEIRS_AFTER = re.compile(rf"^\s*(?:は|って)\s*(?!私|わたし|自分)(?:{_PERSON})の(?:誕生日|生年月日|たんじょうび)(?:でした|だった|です)")
