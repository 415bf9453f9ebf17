"""Ways of writing one date that the date reader does not know, written the way it does.

"1985年生まれ、誕生日は2月14日" (one birth date said in two parts), "2月29日生まれです(2000年)",
"令和2年(2020年)10月15日", "2024年(令和6年)3月31日", "昭和61年、いや62年の4月2日", "5年前の今日". Part of reading a
message (bot.conversation.reading), before its dates are found.
"""

from __future__ import annotations

import re
from datetime import date

from bot.rules.eras import ERA_BY_SPELLING

# The eras' names as written out (not R, H, S): an alternation for patterns here and in reading
ERA_NAMES = "|".join(sorted((k for k in ERA_BY_SPELLING if len(k) > 1), key=len, reverse=True))

# "1985年生まれ、誕生日は2月14日", "昭和30年生まれやねん、3月3日な": one birth date
_YEAR_THEN_BIRTHDAY = re.compile(r"((?:19|20)[0-9]{2}|(?:昭和|平成|令和)[0-9]{1,2})\s*年\s*(?:生まれ|うまれ|産まれ)[^0-9、。]{0,6}"
                                 r"[、,，]\s*(?:で|の)?\s*(?:(?:誕生日|たんじょうび)\s*(?:は|が)?)?\s*"
                                 r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日")
# "2月29日生まれです(2000年)": the year in brackets after
_BIRTHDAY_THEN_YEAR = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日\s*((?:生まれ|うまれ)(?:です)?)?\s*[(\uff08]\s*"
                                 r"((?:19|20)[0-9]{2})\s*年?\s*(?:生まれ)?\s*[)\uff09]")
_WESTERN_AGAIN = re.compile(r"((?:昭和|平成|令和)\s*[0-9]{1,2}\s*年)\s*[(\uff08]\s*(?:19|20)[0-9]{2}\s*年?\s*[)\uff09]")
_WITH_NO = re.compile(r"([0-9]{1,4}\s*年)\s*の\s*([0-9]{1,2}\s*月)\s*の\s*([0-9]{1,2}\s*日)")  # "1979年の9月の14日"
_ERA_AGAIN = re.compile(r"((?:19|20)[0-9]{2}\s*年)\s*[(\uff08]\s*(?:昭和|平成|令和)\s*(?:[0-9]{1,2}|元)\s*年\s*[)\uff09]")
_YEARS_AGO_TODAY = re.compile(r"([0-9]{1,2})\s*年前の(?:今日|きょう|本日|同じ日)")


def _years_ago(today: date, years: int) -> str:
    """"5年前の今日" as a date (28 February for a 29 February that year lacks)."""
    day = min(today.day, 28) if today.month == 2 and today.day == 29 else today.day
    return f"{today.year - years}年{today.month}月{day}日"


_ERA_YEAR_AGAIN = re.compile(
    rf"({ERA_NAMES})\s*([0-9０-９]{{1,2}})\s*年\s*[、,，]?\s*(?:いや|いえ|じゃなくて|ではなく|でなく)\s*[、,，]?\s*([0-9０-９]{{1,2}})\s*年")


def one_date_each(text: str, today: date) -> str:
    """`text` with each of those ways rewritten into a date the reader knows."""
    text = _ERA_YEAR_AGAIN.sub(r"\1\3年", text)  # "昭和61年、いや62年の4月2日": 昭和62年4月2日
    text = _YEAR_THEN_BIRTHDAY.sub(r"\1年\2月\3日生まれ", text)  # "1985年生まれ、誕生日は2月14日"
    text = _BIRTHDAY_THEN_YEAR.sub(r"\4年\1月\2日\3", text)  # "2月29日生まれです(2000年)"
    text = _WESTERN_AGAIN.sub(r"\1", text)  # "令和2年(2020年)10月15日": 令和2年10月15日
    text = _ERA_AGAIN.sub(r"\1", text)  # "2024年(令和6年)3月31日": 2024年3月31日
    text = _WITH_NO.sub(r"\1\2\3", text)  # "1979年の9月の14日": 1979年9月14日
    return _YEARS_AGO_TODAY.sub(lambda m: _years_ago(today, int(m.group(1))), text)  # "5年前の今日"
