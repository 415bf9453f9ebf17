"""Mask PINs and individual numbers (マイナンバー) that users type, before anything keeps them.

`mask(text)` returns the text with each secret replaced by a placeholder, and which
kinds it found. Detection runs on an NFKC-normalised copy (full-width digits, letters and
hyphens count), but the replacement is made in the text as typed, so everything else
the user wrote reaches the matcher and the log unchanged.

What is masked, and why:

- `my_number`: 12 digits, contiguous or grouped 4-4-4 with spaces or hyphens. Masked when
  the check digit is valid (the official algorithm, `is_individual_number`), and also when
  it is not but the words マイナンバー/個人番号 are close: a 12-digit number typed next to
  those words is an individual number with a typo, which is still 11 right digits.
  Phone numbers (at most 11 digits) and 13-digit corporate numbers never match.
- `pin`: a standalone 4-digit number close to a PIN word (暗証番号, パスワード, PIN, ...).
  Years (2027年, 2027/7/15), amounts (1000円), and groups of a longer chain such as the
  phone number 046-252-8006 or the postal code 123-4567 are not PINs.
- `signature_pin`: 6-16 letters and digits with at least one of each (the signature
  certificate's password format). Anywhere when the letters are all upper case, as the
  format requires; close to a PIN word also when they are all lower case (phone keyboards).
  Mixed case (iPhone15) is a product name, not a PIN.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import jaconv

from bot.rules.dates import find_dates
from bot.text import with_offsets

WARNING_TEXT = (
    "暗証番号やマイナンバー(個人番号)は、チャットに入力しないでください。"
    "入力された番号は伏せ字にして扱い、記録には残していません。"
)

PLACEHOLDERS = {"my_number": "[マイナンバー]", "pin": "[暗証番号]", "signature_pin": "[暗証番号]"}

# How far (in normalised characters) a keyword may be from the number it vouches for.
KEYWORD_WINDOW = 20

_PIN_WORDS = re.compile(
    r"暗証番号|暗唱番号|暗証|暗唱|あんしょうばんごう|あんしょう番号|パスワード|ぱすわーど|パスコード"
    r"|password|passcode|(?<![a-z])pin(?![a-z])|ピン(?![クグトチボセポ])",
    re.IGNORECASE,
)
_MY_NUMBER_WORDS = re.compile(r"マイナンバー|まいなんばー|個人番号|my ?number", re.IGNORECASE)


_HYPHENS = "-‐‑‒–—―−ー"
_GROUP_SEP = rf"(?: ?[{_HYPHENS}] ?| {{1,2}})"
_TWELVE_DIGITS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
_GROUPED_TWELVE = re.compile(rf"(?<![0-9])([0-9]{{4}})({_GROUP_SEP})([0-9]{{4}})\2([0-9]{{4}})(?![0-9])")
_ALNUM_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{6,16}(?![0-9A-Za-z])")
_FOUR_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9]{4}(?![0-9A-Za-z])")

# A separator that joins digit groups into one longer number (phone, postal code, date).
_CHAIN_SEPARATORS = _HYPHENS + "/.,:・"
# Units after a 4-digit number that make it a quantity or a date, not a PIN.
_NOT_PIN_AFTER = re.compile(r" ?(?:年|円|月|日|歳|才|回|件|人|桁|文字|時|分|秒|枚|個|%|割|度|号|番|台|名|通|万|千|ヶ|か月|カ月|ケ月)")
_NOT_PIN_BEFORE = re.compile(r"(?:¥|\$|〒|西暦|令和|平成|昭和|No\.?|#) ?$", re.IGNORECASE)


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: frozenset[str]


def is_individual_number(digits: str) -> bool:
    """True when 12 digits carry a valid individual-number check digit.

    >>> is_individual_number("123456789018")
    True
    >>> is_individual_number("123456789012")
    False
    """
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for n in range(1, 12):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digits[11 - n]) * weight
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == int(digits[11])


def mask(text: str) -> Masked:
    """Replace PINs and individual numbers in `text` with placeholders.

    >>> mask("暗証番号は1234です").text
    '暗証番号は[暗証番号]です'
    >>> mask("期限は2027年7月15日、暗証番号を忘れた").kinds
    frozenset()
    """
    if not any(map(str.isdigit, text)):  # every secret has a digit; most messages have none
        return Masked(text, frozenset())
    norm, starts, ends = with_offsets(text)
    spans = _find_secrets(norm)
    if not spans:
        return Masked(text, frozenset())
    masked = _replace(text, [(starts[start], ends[end - 1], PLACEHOLDERS[kind]) for start, end, kind in spans])
    return Masked(masked, frozenset(kind for _, _, kind in spans))


def _find_secrets(norm: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans in the normalised text, in order."""
    pin_words = [(m.start(), m.end()) for m in _PIN_WORDS.finditer(norm)]
    number_words = [(m.start(), m.end()) for m in _MY_NUMBER_WORDS.finditer(norm)]
    claimed: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in claimed)

    for m in _TWELVE_DIGITS.finditer(norm):
        if is_individual_number(m.group()) or _near(m.start(), m.end(), number_words):
            claimed.append((m.start(), m.end(), "my_number"))
    for m in _GROUPED_TWELVE.finditer(norm):
        digits = m.group(1) + m.group(3) + m.group(4)
        if _in_chain(norm, m.start(), m.end()) or not free(m.start(), m.end()):
            continue
        if is_individual_number(digits) or _near(m.start(), m.end(), number_words):
            claimed.append((m.start(), m.end(), "my_number"))
    for m in _ALNUM_TOKEN.finditer(norm):
        token = m.group()
        if not free(m.start(), m.end()) or not _looks_like_signature_pin(token, pin_words, m.start(), m.end()):
            continue
        claimed.append((m.start(), m.end(), "signature_pin"))
    for m in _FOUR_DIGITS.finditer(norm):
        start, end = m.start(), m.end()
        if not free(start, end) or _in_chain(norm, start, end):
            continue
        if _NOT_PIN_AFTER.match(norm, end) or _NOT_PIN_BEFORE.search(norm, max(0, start - 6), start):
            continue
        if _near(start, end, pin_words):
            claimed.append((start, end, "pin"))
    return sorted(claimed)


def _looks_like_signature_pin(token: str, pin_words: list[tuple[int, int]], start: int, end: int) -> bool:
    has_digit = any(c.isdigit() for c in token)
    letters = [c for c in token if c.isalpha()]
    if not has_digit or not letters:
        return False
    if all(c.isupper() for c in letters):
        return True
    return all(c.islower() for c in letters) and _near(start, end, pin_words)


def _near(start: int, end: int, words: list[tuple[int, int]]) -> bool:
    return any(
        (w_end <= start and start - w_end <= KEYWORD_WINDOW) or (w_start >= end and w_start - end <= KEYWORD_WINDOW)
        for w_start, w_end in words
    )


def _in_chain(norm: str, start: int, end: int) -> bool:
    """True when the digits at [start, end) are one group of a longer separated number."""
    before = start >= 2 and norm[start - 1] in _CHAIN_SEPARATORS and norm[start - 2].isdigit()
    after = end + 1 < len(norm) and norm[end] in _CHAIN_SEPARATORS and norm[end + 1].isdigit()
    return before or after


DATE_PLACEHOLDER = "[日付]"
_NUMERALS = frozenset("〇零一二三四五六七八九十百千元")


def redact_dates(text: str, today: date) -> str:
    """Replace written dates with a placeholder, for what is kept long (the turn log).

    A birth date identifies a person together with the municipality; staff reading the
    log need the question, not the date. Bare relative words (今日, 明日) stay readable.

    >>> redact_dates("生年月日は1961年3月8日、発行は令3.3.1です", date(2026, 1, 1))
    '生年月日は[日付]、発行は[日付]です'
    >>> redact_dates("しょうわさんじゅうろくねんさんがつようかうまれ", date(2026, 1, 1))
    '[日付]うまれ'
    >>> redact_dates("今日は何時まで開いていますか", date(2026, 1, 1))
    '今日は何時まで開いていますか'
    """
    spans = [(start, end, DATE_PLACEHOLDER) for start, end, _ in find_dates(text, today)
             if _is_written_date(text[start:end])]
    return _replace(text, spans)


def _is_written_date(span: str) -> bool:
    return any(c.isdigit() or c in _NUMERALS for c in span) or len(span) >= 5


PHONE_PLACEHOLDER = "[電話番号]"
EMAIL_PLACEHOLDER = "[メールアドレス]"
# After NFKC: a Japanese number starts with 0 (or +81 instead of it) and has 10 or 11
# digits, run together or in three groups parted by hyphens, spaces or brackets.
_PHONE_SEP = rf"[{_HYPHENS} ()]{{1,2}}"
_PHONE = re.compile(
    rf"(?<![0-9])\(?(?:\+81[{_HYPHENS} ]?|0)"
    rf"(?:[0-9]{{1,4}}{_PHONE_SEP}[0-9]{{1,4}}{_PHONE_SEP}[0-9]{{3,4}}|[0-9]{{9,10}})(?![0-9])"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
ADDRESS_PLACEHOLDER = "[住所]"
_H = f"[{_HYPHENS}]"
# The parts of an address that point at one house: a postal code, and 丁目・番地・号 or
# their 1-2-3 shorthand (a year-first date such as 2021-04-01 has four digits first).
_ADDRESS = re.compile(
    rf"〒 ?[0-9]{{3}}{_H}?[0-9]{{4}}"
    rf"|(?<![0-9]|{_H})[0-9]{{3}}{_H}[0-9]{{4}}(?![0-9]|{_H})"
    rf"|[0-9]+丁目(?:[0-9]+(?:番地?|{_H})?(?:の?[0-9]+号?)?)?"
    rf"|[0-9]+番地?(?:の?[0-9]+号?)?(?<=[地号0-9])"
    rf"|(?<![0-9.]|{_H})[1-9][0-9]{{0,2}}{_H}[0-9]{{1,4}}{_H}[0-9]{{1,4}}(?![0-9]|{_H})"
)


def redact_contacts(text: str) -> str:
    """Replace phone numbers, e-mail addresses and house addresses with placeholders, for the turn log.

    Residents leave them asking to be called back or to be sent something; staff
    improving the answers do not need them, and the log is kept for months. (The town
    name stays: it says which office the question is about, not who asked.)

    >>> redact_contacts("折り返しお願いします。０９０－１２３４－５６７８ か taro@example.jp まで")
    '折り返しお願いします。[電話番号] か [メールアドレス] まで'
    >>> redact_contacts("+81 3 1234 5678、03(1234)5678、0120123456")
    '[電話番号]、[電話番号]、[電話番号]'
    >>> redact_contacts("090-1234-5678 03-1234-5678 (03)1234-5678")
    '[電話番号] [電話番号] [電話番号]'
    >>> redact_contacts("〒228-0000 座間市緑ケ丘1丁目1番1号、または 1-2-3")
    '[住所] 座間市緑ケ丘[住所]、または [住所]'
    >>> redact_contacts("2021-04-01に発行、手数料は200円、番号は0120、0-1-2、3番窓口")
    '2021-04-01に発行、手数料は200円、番号は0120、0-1-2、3番窓口'
    """
    if "@" not in text and "＠" not in text and not any(map(str.isdigit, text)):
        return text
    norm, starts, ends = with_offsets(text)
    spans = [(m.start(), m.end(), EMAIL_PLACEHOLDER) for m in _EMAIL.finditer(norm)]

    def free(m: re.Match[str]) -> bool:  # no overlap with a span already taken
        return not any(s < m.end() and m.start() < e for s, e, _ in spans)

    for m in _PHONE.finditer(norm):
        digits = sum(c.isdigit() for c in m.group())
        national = digits - 1 if "+81" in m.group() else digits  # +81 stands for the leading 0
        if national in (10, 11) and free(m):
            spans.append((m.start(), m.end(), PHONE_PLACEHOLDER))
    spans += [(m.start(), m.end(), ADDRESS_PLACEHOLDER) for m in _ADDRESS.finditer(norm) if free(m)]
    spans.sort()
    return _replace(text, [(starts[s], ends[e - 1], label) for s, e, label in spans])


NAME_PLACEHOLDER = "[氏名]"
def redact_names(text: str, names: Iterable[str]) -> str:
    """`text` with every occurrence of each name (also in half-width katakana) replaced.

    >>> redact_names("ﾔﾏﾀﾞです。母の山田花子の分も", ("ヤマダ", "山田", "花子"))
    '[氏名]です。母の[氏名]の分も'
    """
    written = {w for name in names if name
               for w in (name, jaconv.z2h(name, kana=True, ascii=False, digit=False))}
    if not written:
        return text
    # One pass, longest first (山田花子 before 山田), so a placeholder is never read again;
    # a family and a given name side by side become one placeholder.
    one = "|".join(map(re.escape, sorted(written, key=len, reverse=True)))
    return re.sub(f"(?:{one})(?:[ \u3000・･]?(?:{one}))*", NAME_PLACEHOLDER, text)


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, placeholder) span, in order and not overlapping, replaced."""
    if not spans:
        return text
    pieces, cursor = [], 0
    for start, end, placeholder in spans:
        pieces += [text[cursor:start], placeholder]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def pseudonym(session_id: str) -> str:
    """The one name a conversation goes by in logs and the turn log: not its id, which a client may reuse.

    >>> pseudonym("line:abc") == pseudonym("line:abc") != pseudonym("line:abd")
    True
    >>> len(pseudonym("x"))
    16
    """
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:16]
