"""What placing found in one message for a form (values, facts, notes, why a date was refused), and
the dates known with it: what was said before and what this message says.

Made by bot.conversation.placing (dates) and bot.conversation.choices (the other answers);
applied to the dialogue's state by bot.conversation.filling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversation.forms import Form
from bot.conversation.state import Partial, Pending, State


@dataclass
class Placement:
    values: dict[str, str] = field(default_factory=dict)  # slot -> ISO date or YYYY-MM
    facts: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # slot -> how a date the bot had to read was read
    remarks: list[str] = field(default_factory=list)  # how the message was taken, of no one slot
    errors: list[tuple[str | None, str]] = field(default_factory=list)  # (slot, why it cannot be used)
    labelled: set[str] = field(default_factory=set)  # slots named by the words around their value
    other: dict[str, str] = field(default_factory=dict)  # dates named for another form's slot
    partial: Partial | None = None
    pending: Pending | None = None
    dropped: set[str] = field(default_factory=set)  # slots and facts taken back ("外国籍ではありません")
    answers_asked: bool = False  # a fact that answers the very question asked ("覚えてない" to the card's day)
    apart: bool = False  # the message says a day is of its own ("別で発行"): the card's and the certificates' part

    @property
    def found(self) -> bool:
        return bool(self.values or self.facts or self.errors or self.partial or self.pending or self.dropped)


def known(state: State, out: Placement, without: str | None = None) -> dict[str, str]:
    """The dates said so far, this message's included: what a date is checked against
    (bot.conversation.plausible), without the slot it would fill."""
    dates = {k: v for k, v in {**state.slots, **out.values}.items() if k in _DATE_NAMES}
    dates.pop(without or "", None)
    if state.facts.get("card_same") or out.facts.get("card_same"):
        dates.pop("card_issued_on", None)  # the certificates' own day, not a value of its own
    if without in _PARTNER and _together(state) and not out.apart:
        dates.pop(_PARTNER[without], None)  # moved with it (settle)
    return dates


# The card's day and the certificates', once said to be one day ("カードと同じ日"), are corrected
# together: the certificates live on the card, so neither can be moved away from the other alone.
_PARTNER = {"issued_on": "card_issued_on", "card_issued_on": "issued_on"}


def _together(state: State) -> bool:
    """Typed as one day, or the certificates' taken from the card's ("カードと同じ日"). Not a card only
    assumed to be the certificates' day (card_same), which a card's day told later replaces alone."""
    card = state.slots.get("card_issued_on")
    return card is not None and card == state.slots.get("issued_on") and not state.facts.get("card_same")


def settle(state: State, out: Placement, slot: str, value: str) -> None:
    """A date into its slot, and into its partner's when the two were one day."""
    out.values[slot] = value
    old = state.slots.get(slot)
    if out.apart and slot == "issued_on" and state.facts.get("card_same") and old and "card_issued_on" not in out.values:
        out.values["card_issued_on"] = old  # "証明書だけ翌日の発行でした": the card keeps the day it was said to share
    partner = _PARTNER.get(slot)
    if partner is not None and partner not in out.values and _together(state) and not out.apart:
        out.values[partner] = value


_DATE_NAMES = frozenset({"birth_date", "issued_on", "card_issued_on", "card_applied_on", "previous_expires_on",
                         "residence_expires_on", "expires_on"})


def target_of(form: Form, state: State, label: str | None) -> str | None:
    """The slot of the form a labelled date fills; None for an unlabelled date."""
    if label is None:
        return None
    if label in form.date_slots:
        return label
    if label == "expires_on" and state.asked in ("previous_expires_on", "residence_expires_on"):
        return state.asked
    return "other:" + label
