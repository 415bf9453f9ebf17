"""Which slot each date in a message fills: by what it can be, what was asked, and the words.

The order (issue 12): a date goes only where it is plausible (bot.conversation.plausible);
words that name a slot ("生年月日は…") decide; a date without such words fills what the
bot just asked when it can be that, else the one slot it can be; words of correction
(間違い, 訂正, じゃなくて) point it at something already said. When two slots remain
possible, the bot asks which one, naming both. A date without its year takes its next
occurrence when it is an expiry, and asks for the year otherwise; a month without its
day is kept as a month (the rules decide whether the day matters).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date

from bot.conversation.choices import place_choices
from bot.conversation.dateparts import (
    exists,
    iso,
    just_passed,
    month_of,
    next_occurrence,
    part_of,
    shown,
    value_of,
)
from bot.conversation.forms import Form
from bot.conversation.parts import amend_part, as_month, lone_parts
from bot.conversation.people import BOTH_PEOPLE, chosen_birth, encode_births, same_person
from bot.conversation.placement import Placement, known, settle, target_of
from bot.conversation.plausible import why_not
from bot.conversation.reading import FoundDate, Reading, normal
from bot.conversation.state import Partial, Pending, State
from bot.conversation.swapping import swap
from bot.knowledge.base import Knowledge
from bot.rules.dates import DateParseError, ParsedDate, PartialDate, format_date

__all__ = ["MESSAGE_FIELDS", "Placement", "place"]

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "assumed_year": ("value",), "assumed_year_passed": ("value",), "ask_year": ("slot", "month", "day"), "ask_which_slot": ("value", "first", "second"),
    "no_such_day": ("month", "day"), "two_birth_dates": ("values",), "which_date_part": (),
    "two_dates_one_slot": ("slot", "values"), "which_dates": ("values",), "unsure_date": ("value",),
    "swapped": (), "swapped_which": (), "hedged_date": ("value", "month"), "hedged_birth": ("value",), "partial_mismatch": ("said", "value"), "whose_first": ("values", "people"),
}


def place(form: Form, state: State, reading: Reading, text: str, today: date, kb: Knowledge,
          correcting: bool | None = None) -> Placement:
    """Everything in the message that answers `form`: dates placed by meaning, and the other answers.

    `correcting`: whether an unlabelled date may replace a value already given; by default,
    when the message has words of correction. After a result it always may (nothing is asked).
    """
    out = Placement(apart=reading.apart)
    births = state.facts.get("births")
    if births and not reading.dates and "birth_date" in form.date_slots and "birth_date" not in state.slots:
        chosen = chosen_birth(normal(text), births)  # "私の分から": one of the two birth dates said
        if chosen is not None:
            out.facts["person"], out.values["birth_date"] = chosen
    if form.date_slots:
        _place_dates(form, state, reading, out, today, kb, reading.correction if correcting is None else correcting)
        if "births" in out.facts and BOTH_PEOPLE.search(normal(text)):
            out.facts["births_shared"] = True  # "私は…、妻は…生まれ。二人とも2022年5月1日に…"
        if not reading.dates:
            swap(form, state, normal(text), out, kb)  # "すみません、逆でした"
    place_choices(form, state, reading, normal(text), out, kb)
    return out


def _dates_to_place(form: Form, state: State, reading: Reading, out: Placement, kb: Knowledge) -> list[FoundDate]:
    """The message's dates less those that are not this person's answer: relative words with
    nothing said of them, another person's, and two for one slot (asked about, not guessed)."""
    # "先月、同僚から聞き…": a relative word with nothing saying what happened then is no date,
    # unless it answers the question just asked ("昨日です")
    dates = [d for d in reading.dates if not d.relative and not (d.vague and d.label is None and state.asked is None)]
    if state.asked == "previous_expires_on" and "issued_on" in state.slots:
        # "覚えていません。2021年8月1日にカードと一緒に発行された証明書です": the old one's issue day
        dates = [d for d in dates if not (d.label == "issued_on" and isinstance(d.found, ParsedDate)
                                          and iso(d.found.value) < state.slots["issued_on"])]
    if not dates and reading.to_fix in form.date_slots and reading.to_fix in state.slots:
        out.dropped.add(reading.to_fix)  # "生年月日を直したい": asked again
    if reading.disowned is not None and reading.disowned in state.slots and not any(
            d.label == reading.disowned for d in dates):
        out.dropped.add(reading.disowned)  # "今のは夫の生年月日でした": not this person's, asked again
    partial = state.partial
    if partial is not None and partial.day is not None:
        # "生年月日の2月20日は、何年のことですか?" answered "2021年9月15日": not that day; which is right is asked
        clash = [d for d in dates if isinstance(d.found, ParsedDate) and target_of(form, state, d.label) in (None, partial.slot)
                 and (d.found.value.month, d.found.value.day) != (partial.month, partial.day)]
        for d in clash:
            out.errors.append((partial.slot, kb.message("partial_mismatch", said=f"{partial.month}月{partial.day}日",
                                                        value=shown(d.found))))
        dates = [d for d in dates if d not in clash]
    if reading.unclear is not None:
        # "…2022年2月2日です。あ、2じゃなくて3でした": which 2 of which date is not the bot's guess to make;
        # the dates it could be in are not taken, and the bot asks for the whole date.
        out.errors.append((None, kb.message("which_date_part")))
        dates = [d for d in dates if not (isinstance(d.found, ParsedDate)
                                          and reading.unclear in (d.found.value.month, d.found.value.day))]
    for unsure in [d for d in dates if d.unsure]:  # "1990年4月1日か11日だったと思います": not computed on a guess
        out.errors.append((target_of(form, state, unsure.label), kb.message("unsure_date", value=shown(unsure.found))))
        dates.remove(unsure)
    births = {d.owner for d in dates if d.label == "birth_date"}
    person = reading.whose or (births.pop() if len(births) == 1 else None)
    if not reading.whose and person is not None and same_person(person) != "私" and "birth_date" in state.slots \
            and any(same_person(d.owner or "") == "私" for d in dates):
        # "妻の誕生日は…なんですが、私のカードは…": the writer's computation goes on; the wife's is an aside
        person = "私"
    if person is not None:  # "夫のカードは…。私は…生まれ": the husband's day is not the writer's
        owned = _births_by_person(dates)
        if len(owned) == 2 and same_person(person) in owned:
            out.facts["births"] = encode_births(owned)  # the other one's waits: "今度は私のを"
        dates = [d for d in dates if d.owner in (None, person)]
        said = state.facts.get("person")
        if said is not None and same_person(said) != same_person(person):
            # "夫は1970年1月1日生まれです" … "私の証明書の期限を知りたい": someone else's dates now
            out.dropped |= {name for name in form.date_slots if name in state.slots}
        out.facts["person"] = person
    for slot in form.date_slots:
        same_slot = {d: shown(d.found) for d in dates
                     if target_of(form, state, d.label) == slot and not isinstance(d.found, DateParseError)}
        if slot == "issued_on" and "card_issued_on" in form.date_slots:
            with_card = [d for d in same_slot if d.card_too]
            if len(with_card) == 1 and any(d.renewed for d in same_slot):
                # "カードと証明書は2022年1月10日に…、証明書を2026年5月1日に更新": the first is the card's day
                dates = [replace(d, label="card_issued_on", card_too=False) if d is with_card[0] else d for d in dates]
                del same_slot[with_card[0]]
        theirs = [d for d in same_slot if reading.whose is not None and d.owner == reading.whose]
        if len(set(same_slot.values())) > 1 and len(theirs) == 1:
            # "母(昭和20年…生まれ)…私は昭和50年…生まれ…母の証明書の期限は?": the mother's dates
            dates = [d for d in dates if d not in same_slot or d in theirs]
            same_slot = {theirs[0]: same_slot[theirs[0]]}
        if len(set(same_slot.values())) > 1:
            # "私は…生まれ、娘は…生まれ" (whose dates?), "2020年1月10日と2021年3月5日に手続き" (which was
            # the certificates'?): not the bot's guess to make.
            # A date in brackets that disagrees with the one before it ("1990年5月10日(平成2年5月1日)") is one
            # person's date, typed two ways.
            people = slot == "birth_date" and not any(d.restated for d in same_slot)
            owners = _births_by_person(list(same_slot))
            dates = [d for d in dates if d not in same_slot]
            if people and len(owners) == len(same_slot) == 2:
                # "私は…生まれ、妻は…生まれ": kept, and the bot asks whose to compute first
                out.facts["births"] = encode_births(owners)
                out.remarks.append(kb.message("whose_first", values="、".join(same_slot.values()),
                                              people="・".join(f"「{p}」" for p in owners)))
                continue
            key = "two_birth_dates" if people else "two_dates_one_slot"
            out.errors.append((slot, kb.message(key, slot=form.slot(slot).label, values="、".join(same_slot.values()))))
            if slot in state.slots:
                out.dropped.add(slot)  # the value said before is in doubt too: asked again, not used
    return [as_month(d, state, out, kb) if target_of(form, state, d.label) in (None, *form.date_slots) else d
            for d in dates]  # not a day of something else ("通知書は…ごろ届きました")


def _births_by_person(dates: list[FoundDate]) -> dict[str, str]:
    """The birth dates among `dates` whose person is named ("私は…、妻は…生まれ"), by person."""
    return {same_person(d.owner): iso(d.found.value) for d in dates
            if d.label == "birth_date" and d.owner is not None and isinstance(d.found, ParsedDate)}


def _place_dates(form: Form, state: State, reading: Reading, out: Placement, today: date, kb: Knowledge,
                 correcting: bool) -> None:
    dates = _dates_to_place(form, state, reading, out, kb)
    unlabelled: list[tuple[FoundDate, str]] = []
    renewal = any(d.renewed for d in dates)
    for found in dates:
        target = target_of(form, state, found.label)
        if target == "other:expires_on" and renewal and "previous_expires_on" in form.date_slots:
            target = "previous_expires_on"  # "期限が2026年9月15日だったので、8月1日に更新しました"
        if target is None and found.replaces is not None:
            replaced = _replaced_slots(form, state, out, found.replaces)  # "2月2日じゃなくて2月12日": the one on 2月2日
            if len(replaced) > 1:
                out.errors.append((None, kb.message("which_date_part")))  # two dates were on 2月2日
                continue
            target = replaced[0] if replaced else None
            if target is None and state.asked in form.date_slots and state.asked not in state.slots:
                target = state.asked  # X was never said before: "X じゃなくて Y" answers the question, in one breath
        if target is not None and not target.startswith("other:"):
            out.labelled.add(target)
            if found.card_too and target == "issued_on":
                out.facts["card_same"] = True
            if found.renewed and target == "issued_on":
                out.facts["renewed"] = True
        parsed = found.found
        if isinstance(parsed, DateParseError):
            out.errors.append((target if target and not target.startswith("other:") else state.asked, parsed.reason))
            continue
        if target is not None and target.startswith("other:"):
            if isinstance(parsed, ParsedDate):
                out.other[target.removeprefix("other:")] = iso(parsed.value)
            continue
        if target is None:
            if isinstance(parsed, PartialDate) and parsed.year is None:
                # "2022年9月に…新しくしてもらいました。9月12日です": the day of the month just said
                target = next((k for k, v in out.values.items() if len(v) == 7 and int(v[5:]) == parsed.month), None)
                target = target or state.asked or _first_open(form, state) or (
                    _only_said(form, state) or _same_month(form, state, parsed.month) if correcting else None)
                if target is None:
                    continue
            else:
                unlabelled.append((found, value_of(parsed)))
                continue
        _put(form, state, out, target, parsed, today, kb)
    if unlabelled:
        _place_unlabelled(form, state, out, unlabelled, today, kb, correcting,
                          card_same_day=reading.card_too and state.asked == "card_issued_on")
    if not dates:
        lone_parts(form, state, reading, out, kb, today)
    elif reading.parts_after_dates:
        amend_part(form, state, reading, out, kb, today)  # "…令和3年6月1日。すみません、令和4年でした"


def _replaced_slots(form: Form, state: State, out: Placement, replaced: ParsedDate | PartialDate) -> list[str]:
    """The dates said before that are the X of "X じゃなくて Y"."""
    day = replaced.value if isinstance(replaced, ParsedDate) else replaced
    parts: tuple[int | None, ...] = (day.year, day.month, day.day)
    said = {**state.slots, **out.values}  # the dates said before, in this message too
    matching = [name for name in form.date_slots if name in said
                and all(want is None or part_of(said[name], part) == want
                        for part, want in zip(("year", "month", "day"), parts))]
    if state.facts.get("card_same") and "issued_on" in matching:
        matching = [name for name in matching if name != "card_issued_on"]
    return matching


def _only_said(form: Form, state: State) -> str | None:
    """The one date the form holds: what a yearless correction after a result can only mean."""
    said = [name for name in form.date_slots if name in state.slots]
    return said[0] if len(said) == 1 else None


def _same_month(form: Form, state: State, month: int) -> str | None:
    """The one date said in this month: "いや、やっぱり5月7日です" after 1990年5月6日 and 2022年6月6日."""
    said = [name for name in form.date_slots if name in state.slots and part_of(state.slots[name], "month") == month
            and not (name == "card_issued_on" and state.facts.get("card_same"))]  # the certificates' own day
    return said[0] if len(said) == 1 else None


def _first_open(form: Form, state: State) -> str | None:
    open_slots = [s.name for s in form.open_slots(state.slots, state.facts) if s.is_date]
    return open_slots[0] if open_slots else None


def _put(form: Form, state: State, out: Placement, slot: str, parsed: ParsedDate | PartialDate, today: date,
         kb: Knowledge) -> None:
    """One date into its slot, after the checks only the slot can make."""
    note = parsed.understood_as if isinstance(parsed, ParsedDate) else None
    if isinstance(parsed, PartialDate) and parsed.year is None:
        old = out.values.get(slot) or state.slots.get(slot)
        if old is not None and len(old) == 7 and int(old[5:]) == parsed.month and parsed.day is not None:
            old = f"{old}-01"  # "3月15日です" after "2022年の3月ごろ": the day of that month, in its year
        if old is not None and len(old) == 10 and not parsed.month_end:  # a correction keeps its year
            try:
                value = iso(parsed.on(int(old[:4])))
            except ValueError:
                out.errors.append((slot, kb.message("no_such_day", month=parsed.month, day=parsed.day)))
                return
        elif form.slot(slot).year == "next" and not just_passed(parsed, today):
            day = next_occurrence(parsed, today)
            value, note = iso(day), kb.message("assumed_year", value=format_date(day))
            if day.year > today.year and slot == "expires_on" and parsed.day is not None \
                    and exists(f"{today.year}-{parsed.month:02d}-{parsed.day:02d}"):
                # "有効期限は8月20日" in December: next year's, unless it was this year's (expired; not a
                # 2月29日 this year lacks)
                note += kb.message("assumed_year_passed", value=format_date(date(today.year, parsed.month, parsed.day)))
        else:
            out.partial = Partial(slot, None, parsed.month, parsed.day)
            return
    elif isinstance(parsed, PartialDate):
        if parsed.month_end:  # 月末 with a year is a whole date
            value = iso(parsed.on(parsed.year or today.year))
        else:
            value = month_of(parsed)
            why = why_not(slot, value, known(state, out, without=slot), today)
            if why is not None:
                out.errors.append((slot, why))
                return
            if form.slot(slot).day == "ask" or any(len(v) == 7 for k, v in state.slots.items() if k != slot):
                # A birthday is always a day; and two months at once would mean trying every pair of days.
                out.partial = Partial(slot, parsed.year, parsed.month)
                return
    else:
        value = iso(parsed.value)
    why = why_not(slot, value, known(state, out, without=slot), today)
    if why is not None:
        out.errors.append((slot, why))
        return
    settle(state, out, slot, value)
    if note:
        out.notes[slot] = note


def _place_unlabelled(form: Form, state: State, out: Placement, dates: list[tuple[FoundDate, str]], today: date,
                      kb: Knowledge, correcting: bool, card_same_day: bool = False) -> None:
    # "生年月日1985年13月5日、カード2020年5月5日", "誕生日は4月10日、年は忘れました。…2022年6月1日": not the birth date
    refused = {slot for slot, _ in out.errors} | ({out.partial.slot} if out.partial else set())
    open_slots = [s.name for s in form.open_slots({**state.slots, **out.values}, {**state.facts, **out.facts},
                                                   first=state.asked)
                  if s.is_date and s.name not in out.values and s.name not in refused]
    dates_known = known(state, out)
    said = [name for name in form.date_slots if name in dates_known and name not in out.values]
    # Words of correction point at what was said before; without them a date answers what is
    # asked, or another open question: an earlier answer is never changed without being asked to.
    # Right after the bot turned a date away, they point at that date ("R7.2.28の間違いでした").
    asked = state.asked if state.asked in open_slots else None
    month_of = [slot for slot, value in dates_known.items() if len(dates) == 1 and len(value) == 7
                and dates[0][1].startswith(value)]
    if len(month_of) == 1 and (asked is None or month_of[0] == state.asked or card_same_day):
        # "2021年4月の何日ですか?" answered "2021年4月1日です", "2021年4月頃" mended after the result
        # by "2021年4月12日でした", or "…。カードも同日です": that month's day
        day = dates[0][0].found
        assert isinstance(day, (ParsedDate, PartialDate))
        _put(form, state, out, month_of[0], day, today, kb)
        return
    if asked is not None and len(month_of) == 1 and _fits((asked,), [dates[0][1]], state, out, today):
        # "先月、証明書を発行…" then, asked for the card's day, "2026年11月10日です": the certificates'
        # day in that month, or the card's? asked, not guessed
        out.pending = Pending(dates[0][1], (month_of[0], asked))
        return
    # A correction one part away from one date said ("2021年4月5日" then "いや、やっぱり2021年4月3日") mends
    # that one, or answers the question asked; not a date it shares nothing with.
    close = [slot for slot in said if len(dates) == 1 and _one_part_apart(dates_known[slot], dates[0][1])]
    if correcting and asked is not None and state.failures:
        prefs = [asked, *said, *(s for s in open_slots if s != asked)]
    elif correcting and len(close) == 1:
        prefs = [*close, *(s for s in open_slots if s == asked), *(s for s in said + open_slots if s not in close and s != asked)]
    else:
        prefs = said + open_slots if correcting else open_slots
    best: tuple[int, tuple[str, ...]] | None = None
    values = [value for _, value in dates]
    for choice in itertools.permutations(prefs, len(dates)):
        if not _fits(choice, values, state, out, today):
            continue
        cost = sum(prefs.index(slot) for slot in choice)
        if best is None or cost < best[0]:  # on a tie the first found, in the form's own order
            best = (cost, choice)
    if best is None and len(dates) > 1:
        # More dates than the bot can tell apart ("1983年4月4日 2021年9月1日 2024年9月1日"): none is guessed.
        out.errors.append((None, kb.message("which_dates", values="、".join(shown(d.found) for d, _ in dates))))
        return
    if best is None:
        slot = state.asked or (open_slots[0] if open_slots else None) or (said[0] if said else None)
        if slot is not None:
            why = why_not(slot, dates[0][1], known(state, out, without=slot), today)
            out.errors.append((slot, why or kb.message("reprompt_no_date")))
        return
    choice = best[1]
    if len(dates) == 1:
        rival = _rival(choice[0], prefs, values[0], state, out, today, asked)
        if rival is not None:
            out.pending = Pending(values[0], (choice[0], rival))
            return
    for (found, _), slot in zip(dates, choice):
        parsed = found.found
        assert isinstance(parsed, (ParsedDate, PartialDate))
        _put(form, state, out, slot, parsed, today, kb)


def _fits(choice: tuple[str, ...], values: list[str], state: State, out: Placement, today: date) -> bool:
    trial = known(state, out)
    for slot in choice:
        trial.pop(slot, None)
    for slot, value in zip(choice, values):
        if why_not(slot, value, trial, today) is not None:
            return False
        trial[slot] = value
    return all(why_not(slot, trial[slot], {k: v for k, v in trial.items() if k != slot}, today) is None
               for slot in choice)


def _rival(chosen: str, prefs: list[str], value: str, state: State, out: Placement, today: date,
           asked: str | None) -> str | None:
    """Another slot that one date could as well be: then the bot asks which. A correction of a
    date said before is torn with another said date, or with the question just asked ("間違えま
    した、2022年5月15日です" may mend the birth date or answer for the issue day).

    Only a correction can be torn: a date that fills the open question needs no asking.
    """
    if chosen not in state.slots:
        return None
    return next((s for s in prefs if (s in state.slots or s == asked) and s != chosen
                 and _fits((s,), [value], state, out, today)), None)


def _one_part_apart(said: str, value: str) -> bool:
    """Whether two ISO dates differ in exactly one of year, month and day."""
    return sum(a != b for a, b in zip(said.split("-"), value.split("-"))) == 1 and len(said) == len(value)
