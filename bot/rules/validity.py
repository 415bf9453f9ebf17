"""The expiry and renewal-window rules of /work/shared/spec/rules.md, as pure functions.

Nothing here reads a clock: `today` is always a parameter. Dates are `datetime.date`;
`to_json` turns a result into what the HTTP routes send. Every `notes` sentence is
plain Japanese that the dialogue shows to citizens, saying which rule decided a date.

Decisions this module makes where rules.md leaves the inputs open (all raise
`RuleInputError` naming the field):
- certificates live on the card, so `issued_on` before `card_issued_on`, or after
  the card's own expiry, cannot happen;
- a period of stay that ended before the card or the certificates were issued cannot
  happen either;
- `previous_expires_on` must not be before the birth date, and cannot be later than
  the 6th birthday after `issued_on`: the certificate it names was issued on or before
  `issued_on`, and no certificate outlives the 6th birthday after its issue day.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from bot.rules.dates import format_date

__all__ = [
    "CARD_NOTE_PREFIX", "RuleInputError", "age_on", "expiry", "nth_birthday_after", "renewal_opens_on",
    "renewal_window", "to_json",
]

# The Civil Code change that lowered adulthood to 18 took effect on 2022-04-01; cards
# applied for before it keep the old line of 20 (the Kama page).
LAST_DAY_OF_OLD_ADULT_AGE = date(2022, 3, 31)
ADULT_AGE = 18
OLD_ADULT_AGE = 20
SIGNATURE_MIN_AGE = 15
CARD_YEARS_ADULT = 10
CERT_YEARS = 5
CERT_YEARS_RENEWED_IN_WINDOW = 6
RENEWAL_MONTHS_BEFORE = 3
# Every note about the card's own expiry starts so; the dialogue leaves them out when the
# card's issue day is unknown (and did not matter to the certificates).
CARD_NOTE_PREFIX = "カードは"


class RuleInputError(ValueError):
    """An input that cannot happen; `field` names the request field, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _d(d: date) -> str:
    return format_date(d, era=False)


def _require_date(field: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    # datetime is a date subclass but does not compare with date; reject it loudly.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleInputError(field, f"日付(datetime.date)が必要ですが、{type(value).__name__} が渡されました")


# --- birthdays -------------------------------------------------------------------


def _birthday_in(birth: date, year: int) -> date:
    """The birthday in `year`: 29 February is the 28th in a common year, the rule rules.md decides
    for people born on 29 February (and what `birth + relativedelta(years=...)` gives, at a
    twentieth of its cost: a dialogue that tries the days of a month runs this hundreds of times).

    >>> _birthday_in(date(2004, 2, 29), 2026), _birthday_in(date(2004, 2, 29), 2028)
    (datetime.date(2026, 2, 28), datetime.date(2028, 2, 29))
    """
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return birth.replace(year=year, day=28)


def nth_birthday_after(birth: date, day: date, n: int) -> date:
    """The n-th birthday strictly after `day` (発行の日後: the day itself never counts).

    >>> nth_birthday_after(date(1990, 5, 10), date(2021, 4, 1), 5)
    datetime.date(2025, 5, 10)
    >>> nth_birthday_after(date(1990, 5, 10), date(2021, 5, 10), 5)   # issued on a birthday
    datetime.date(2026, 5, 10)
    >>> nth_birthday_after(date(2004, 2, 29), date(2021, 4, 1), 5)
    datetime.date(2026, 2, 28)
    """
    _require_date("birth_date", birth)
    _require_date("day", day)
    if n < 1:
        raise RuleInputError("n", f"1以上の回数が必要です(n={n})")
    if day < birth:
        raise RuleInputError("day", f"{_d(day)}は生年月日({_d(birth)})より前です")
    year = day.year if _birthday_in(birth, day.year) > day else day.year + 1
    return _birthday_in(birth, year + n - 1)


def age_on(birth: date, day: date) -> int:
    """Birthdays from the birth date up to and including `day`.

    >>> age_on(date(2007, 4, 1), date(2025, 3, 31)), age_on(date(2007, 4, 1), date(2025, 4, 1))
    (17, 18)
    >>> age_on(date(2008, 2, 29), date(2023, 2, 28))
    15
    """
    _require_date("birth_date", birth)
    _require_date("day", day)
    if day < birth:
        raise RuleInputError("day", f"{_d(day)}は生年月日({_d(birth)})より前です")
    years = day.year - birth.year
    return years if _birthday_in(birth, day.year) <= day else years - 1


# --- the renewal window ------------------------------------------------------------


def renewal_opens_on(expires_on: date) -> date:
    """The day after the day 3 months before expiry; the 1st of the next month when
    that month has no such day (relativedelta clamps to the month end, and the day
    after a month end is the 1st).

    >>> renewal_opens_on(date(2027, 7, 15))   # the Kama page
    datetime.date(2027, 4, 16)
    >>> renewal_opens_on(date(2021, 10, 1))   # the Shinagawa page
    datetime.date(2021, 7, 2)
    >>> renewal_opens_on(date(2027, 5, 31))   # rules.md: no 31 February
    datetime.date(2027, 3, 1)
    """
    _require_date("expires_on", expires_on)
    return _renewal_opens_on(expires_on)


@functools.lru_cache(maxsize=4096)  # a calendar sum, asked for again and again as a dialogue tries days
def _renewal_opens_on(expires_on: date) -> date:
    return expires_on - relativedelta(months=RENEWAL_MONTHS_BEFORE) + timedelta(days=1)


def renewal_window(expires_on: date, today: date) -> dict[str, Any]:
    """Whether a certificate expiring on `expires_on` can be renewed on `today`.

    >>> renewal_window(date(2027, 7, 15), date(2027, 4, 15))["status"]
    'not_yet'
    >>> renewal_window(date(2027, 7, 15), date(2027, 7, 15))["status"]
    'open'
    >>> renewal_window(date(2027, 7, 15), date(2027, 7, 16))["status"]
    'expired'
    """
    _require_date("expires_on", expires_on)
    _require_date("today", today)
    opens_on = renewal_opens_on(expires_on)
    if today < opens_on:
        status = "not_yet"
    elif today <= expires_on:
        status = "open"
    else:
        status = "expired"
    return {"opens_on": opens_on, "status": status}


# --- expiry ------------------------------------------------------------------------


def _check_inputs(
    birth_date: date, issued_on: date, card_issued_on: date, card_applied_on: date,
    residence_expires_on: date | None,
) -> None:
    if issued_on < birth_date:
        raise RuleInputError("issued_on", f"発行日({_d(issued_on)})が生年月日({_d(birth_date)})より前です")
    if card_issued_on < birth_date:
        raise RuleInputError("card_issued_on", f"カードの発行日({_d(card_issued_on)})が生年月日より前です")
    if card_applied_on < birth_date:
        raise RuleInputError("card_applied_on", f"カードの申請日({_d(card_applied_on)})が生年月日より前です")
    if card_applied_on > card_issued_on:
        raise RuleInputError(
            "card_applied_on", f"カードの申請日({_d(card_applied_on)})が発行日({_d(card_issued_on)})より後です"
        )
    if issued_on < card_issued_on:
        raise RuleInputError(
            "issued_on",
            f"電子証明書はカードに記録されるので、カードの発行日({_d(card_issued_on)})より前には発行されません",
        )
    if residence_expires_on is not None and residence_expires_on < issued_on:
        raise RuleInputError(
            "residence_expires_on", f"在留期間の満了日({_d(residence_expires_on)})が発行日({_d(issued_on)})より前です"
        )


def _card_expiry(
    birth_date: date, card_issued_on: date, card_applied_on: date, residence_expires_on: date | None,
    notes: list[str],
) -> date:
    adult_age = OLD_ADULT_AGE if card_applied_on <= LAST_DAY_OF_OLD_ADULT_AGE else ADULT_AGE
    if adult_age == OLD_ADULT_AGE:
        notes.append(f"{CARD_NOTE_PREFIX}2022年3月31日以前の申請なので、18歳を20歳と読みかえます。")
    age = age_on(birth_date, card_issued_on)
    years = CARD_YEARS_ADULT if age >= adult_age else CERT_YEARS
    by_birthday = nth_birthday_after(birth_date, card_issued_on, years)
    above = "以上" if age >= adult_age else "未満"
    notes.append(
        f"{CARD_NOTE_PREFIX}、発行日({_d(card_issued_on)})に{adult_age}歳{above}なので、"
        f"発行日後{years}回目の誕生日({_d(by_birthday)})までです。"
    )
    if residence_expires_on is not None and residence_expires_on < by_birthday:
        notes.append(f"{CARD_NOTE_PREFIX}、在留期間の満了日({_d(residence_expires_on)})のほうが早いので、その日までです。")
        return residence_expires_on
    return by_birthday


def _capped_certificate(
    name: str, by_birthday: date, count: int, caps: list[tuple[date, str]], notes: list[str]
) -> date:
    """The earliest of the birthday date and the caps, with a note saying which decided."""
    earliest, why = min(caps, key=lambda cap: cap[0])
    if earliest < by_birthday:
        notes.append(f"{name}は、{why}({_d(earliest)})のほうが早いので、その日までです。")
        return earliest
    notes.append(f"{name}は、発行日後{count}回目の誕生日({_d(by_birthday)})までです。")
    return by_birthday


def expiry(
    birth_date: date,
    issued_on: date,
    *,
    card_issued_on: date | None = None,
    card_applied_on: date | None = None,
    previous_expires_on: date | None = None,
    residence_expires_on: date | None = None,
    adult_ward: bool = False,
) -> dict[str, Any]:
    """The card's and both certificates' last valid days, and when renewal opens.

    >>> r = expiry(date(1990, 7, 15), date(2022, 8, 1))
    >>> r["card_expires_on"], r["user_certificate_expires_on"], r["renewal_opens_on"]
    (datetime.date(2032, 7, 15), datetime.date(2027, 7, 15), datetime.date(2027, 4, 16))
    >>> expiry(date(2010, 10, 1), date(2016, 9, 1))["signature_certificate_expires_on"] is None
    True
    """
    _require_date("birth_date", birth_date)
    _require_date("issued_on", issued_on)
    for field, value in (
        ("card_issued_on", card_issued_on), ("card_applied_on", card_applied_on),
        ("previous_expires_on", previous_expires_on), ("residence_expires_on", residence_expires_on),
    ):
        _require_date(field, value, optional=True)
    if not isinstance(adult_ward, bool):
        raise RuleInputError("adult_ward", f"true か false が必要です({adult_ward!r})")
    card_issued = card_issued_on or issued_on
    card_applied = card_applied_on or card_issued
    _check_inputs(birth_date, issued_on, card_issued, card_applied, residence_expires_on)

    notes: list[str] = []
    card_expires_on = _card_expiry(birth_date, card_issued, card_applied, residence_expires_on, notes)
    if issued_on > card_expires_on:
        raise RuleInputError(
            "issued_on", f"カードの有効期限({_d(card_expires_on)})を過ぎてから電子証明書は発行されません"
        )

    count = CERT_YEARS
    if previous_expires_on is not None:
        if previous_expires_on < birth_date:
            raise RuleInputError("previous_expires_on", f"前の証明書の有効期限({_d(previous_expires_on)})が生年月日より前です")
        latest = nth_birthday_after(birth_date, issued_on, CERT_YEARS_RENEWED_IN_WINDOW)
        if previous_expires_on > latest:
            raise RuleInputError(
                "previous_expires_on",
                f"前の証明書は{_d(issued_on)}以前の発行なので、{_d(latest)}より後に期限が来ることはありません",
            )
        opens_on = renewal_opens_on(previous_expires_on)
        if opens_on <= issued_on <= previous_expires_on:
            count = CERT_YEARS_RENEWED_IN_WINDOW
            notes.append(
                f"前の証明書の期限({_d(previous_expires_on)})まで3か月を切ってからの更新"
                f"({_d(opens_on)}から{_d(previous_expires_on)}まで)なので、6回目の誕生日まで数えます。"
            )
        elif issued_on > previous_expires_on:
            notes.append("前の証明書の期限が過ぎてからの発行なので、5回目の誕生日まで数えます。")
        else:
            notes.append("前の証明書の期限まで3か月以上あるうちの発行なので、5回目の誕生日まで数えます。")
    by_birthday = nth_birthday_after(birth_date, issued_on, count)
    card_cap_reason = "在留期間の満了日" if card_expires_on == residence_expires_on else "カードの有効期限"
    user = _capped_certificate(
        "利用者証明用電子証明書", by_birthday, count, [(card_expires_on, card_cap_reason)], notes
    )

    signature: date | None = None
    if adult_ward:
        notes.append("成年被後見人の方には、署名用電子証明書は原則として発行されません。")
    elif age_on(birth_date, issued_on) < SIGNATURE_MIN_AGE:
        notes.append(f"発行日({_d(issued_on)})に15歳未満なので、署名用電子証明書は原則として発行されません。")
    else:
        signature = _capped_certificate(
            "署名用電子証明書", by_birthday, count,
            [(card_expires_on, card_cap_reason), (user, "利用者証明用電子証明書の有効期限")], notes,
        )

    earlier = min(user, signature) if signature is not None else user
    opens_on = renewal_opens_on(earlier)
    notes.append(f"電子証明書の更新は、有効期限の3か月前の翌日({_d(opens_on)})からできます。")
    if earlier == card_expires_on and card_expires_on == residence_expires_on:
        notes.append("在留期間を延長したときは、カードの有効期限を延長する手続きも必要です。")
    elif earlier == card_expires_on:
        notes.append("電子証明書の期限がカードの期限と同じなので、更新ではなくカードの再申請が必要です。")
    if birth_date.month == 2 and birth_date.day == 29:
        notes.append("2月29日生まれの方は、うるう年でない年は2月28日を誕生日として数えます。")
    return {
        "card_expires_on": card_expires_on,
        "user_certificate_expires_on": user,
        "signature_certificate_expires_on": signature,
        "renewal_opens_on": opens_on,
        "notes": notes,
    }


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    """The same result with dates as ISO strings, for the HTTP routes.

    >>> to_json({"opens_on": date(2027, 4, 16), "status": "not_yet", "notes": ["x"]})
    {'opens_on': '2027-04-16', 'status': 'not_yet', 'notes': ['x']}
    """
    def convert(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value

    return {k: convert(v) for k, v in result.items()}
