"""A year, a month or a day said alone: the missing part of a date, or a correction of part of one;
and a day said with doubt, taken as its month (as_month).

"誕生日は11日でした", "生まれ月は6月です", "間違えました、2011年でした", "令和3年じゃなくて令和4年",
"昭和じゃなくて平成です". Which date it belongs to: the one the words name, whose part is the X of
"X じゃなくて Y", else the only one it can be; when more could be, the bot asks for the whole date.
Part of placing a message's dates (bot.conversation.placing).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.conversation.dateparts import exists, part_of, shown, with_era, with_part
from bot.conversation.forms import Form
from bot.conversation.placement import Placement, known, settle, target_of
from bot.conversation.plausible import why_not
from bot.conversation.reading import FoundDate, Reading
from bot.conversation.state import State
from bot.knowledge.base import Knowledge
from bot.rules.dates import ParsedDate, PartialDate


def lone_parts(form: Form, state: State, reading: Reading, out: Placement, kb: Knowledge, today: date) -> None:
    """A day, a month or a year alone: the missing part of a date, or a correction of part of one
    ("誕生日は11日でした", "生まれ月は6月です", "間違えました、2011年でした")."""
    partial = state.partial
    if partial is not None and partial.year is None and reading.year is not None:
        _complete(out, partial.slot, reading.year, partial.month, partial.day, kb, form)
        return
    if reading.day is None:
        if reading.year is not None or reading.month is not None or reading.eras is not None:
            amend_part(form, state, reading, out, kb, today)
        return
    slot = target_of(form, state, reading.part_label) if reading.part_label else None
    if slot is not None and slot.startswith("other:"):
        return
    if partial is not None and partial.year is not None and slot in (None, partial.slot):
        _complete(out, partial.slot, partial.year, partial.month, reading.day, kb, form)
        return
    asked = state.asked
    months = [name for name, value in state.slots.items() if len(value) == 7]
    if slot is None and reading.was is None and (asked in months or len(months) == 1):
        name = asked if asked in months else months[0]
        value = state.slots[name]  # the day of a month the bot asked about, or of the one month it holds
        _complete(out, name, int(value[:4]), int(value[5:]), reading.day, kb, form)
        return
    amend_part(form, state, reading, out, kb, today)


def amend_part(form: Form, state: State, reading: Reading, out: Placement, kb: Knowledge, today: date) -> None:
    """A year, a month or a day alone, in place of that part of a date said before. Which date: the
    one the words name, or whose part is the X of "X じゃなくて Y", else the only one it can be; when
    more could be, the bot asks for the whole date."""
    named = target_of(form, state, reading.part_label) if reading.part_label else None
    if named is not None and named.startswith("other:"):
        return
    if named is None and not (reading.correction or reading.amending or reading.was):
        return  # "2021年です" answering a question is the year of a date to come, not a correction
    part, new = _new_part(reading) if reading.eras is None else ("era", 0)
    said = {k: v for k, v in known(state, out).items() if k in form.date_slots}
    if named is None and state.failures and state.asked is not None and state.asked not in said:
        # "平成じゃなくて令和3年でした" right after 平成3年4月1日 was turned away: of that date, which the
        # bot no longer holds, not of one it kept: the whole date is asked
        out.errors.append((state.asked, kb.message("which_date_part")))
        return
    candidates = [named] if named is not None else list(said)
    if reading.was is not None:
        candidates = [s for s in candidates if s in said and part_of(said[s], reading.was[0]) == reading.was[1]]
    options: dict[str, str] = {}
    refusal: tuple[str, str] | None = None
    for slot in candidates:
        old = said.get(slot)
        if old is None or (part == "day" and len(old) == 7 and named is None):
            continue
        if reading.eras is not None:
            value = with_era(old, *reading.eras) or ""  # only a date said in era X can be meant
            if not value:
                continue
        else:
            value = with_part(old, part, new)
        if not exists(value):
            refusal = (slot, kb.message("no_such_day", month=int(value[5:7]), day=int(value[8:])))
            continue
        why = why_not(slot, value, known(state, out, without=slot), today)
        if why is not None:
            refusal = refusal or (slot, why)
        elif value != old:
            options[slot] = value
    if len(options) == 1:
        [(slot, value)] = options.items()
        settle(state, out, slot, value)
        out.labelled.add(slot)
    elif options or (refusal is None and named is None and said):
        out.errors.append((None, kb.message("which_date_part")))
    elif refusal is not None:
        out.errors.append(refusal)


def _new_part(reading: Reading) -> tuple[str, int]:
    """Which part a lone year, month or day replaces, and with what."""
    if reading.was is not None:
        part = reading.was[0]
        value = {"year": reading.year, "month": reading.month, "day": reading.day}[part]
        assert value is not None
        return part, value
    if reading.year is not None:
        return "year", reading.year
    if reading.month is not None:
        return "month", reading.month
    assert reading.day is not None
    return "day", reading.day


def _complete(out: Placement, slot: str, year: int, month: int, day: int | None, kb: Knowledge, form: Form) -> None:
    if day is None:
        out.values[slot] = f"{year:04d}-{month:02d}"
        return
    try:
        out.values[slot] = date(year, month, day).isoformat()
    except ValueError:
        out.errors.append((slot, kb.message("no_such_day", month=month, day=day)))


def as_month(found: FoundDate, state: State, out: Placement, kb: Knowledge) -> FoundDate:
    """A day said with doubt ("たぶん2021年4月1日", "4月1日頃") as its month: the dates are computed
    when every day of that month gives the same ones, and the day is asked when not. Not a
    birth date: a birthday is always a day, and nobody is unsure of theirs."""
    parsed = found.found
    if found.hedged and isinstance(parsed, ParsedDate) and (found.label or state.asked) == "birth_date":
        out.remarks.append(kb.message("hedged_birth", value=shown(parsed)))  # "たぶん1979年3月31日" (a proxy's)
    if not found.hedged or not isinstance(parsed, ParsedDate) or (found.label or state.asked) in (None, "birth_date"):
        return found
    month = PartialDate(parsed.value.year, parsed.value.month, None)
    out.remarks.append(kb.message("hedged_date", value=shown(parsed), month=f"{month.year}年{month.month}月"))
    return replace(found, found=month)
