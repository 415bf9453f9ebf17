"""「逆でした」: two dates said the wrong way round are asked again, one at a time.

They are not swapped in place: a swap of the birth date and the issue day, or of the card's day
and the certificates', is never plausible both ways round, so one of the two was turned away
and the bot no longer holds it ("生年月日2021年5月1日、発行日1980年3月3日": an issue day before
2016). Which two of three or more dates were swapped is not the bot's guess: it asks.
Part of placing a message (bot.conversation.placing).
"""

from __future__ import annotations

import re

from bot.conversation.forms import Form
from bot.conversation.placement import Placement, known
from bot.conversation.state import State
from bot.knowledge.base import Knowledge

_SWAPPED = re.compile(r"逆(?:でした|です|だった|やった|やね)|反対(?:でした|です|だった)|あべこべ"
                      r"|(?:入れ|いれ)(?:替|か)(?:わ|え)|(?:逆|反対)に(?:書|入力|言|いっ|かい)")


def swap(form: Form, state: State, norm: str, out: Placement, kb: Knowledge) -> None:
    """Ask again for two dates the message says were the wrong way round."""
    if not _SWAPPED.search(norm):
        return
    said = [slot for slot in form.date_slots if slot in known(state, out)]
    if len(said) == 2 or len(said) == 1 and state.failures:  # the other one was turned away
        out.dropped |= set(said)
        out.errors.append((said[0], kb.message("swapped")))
    else:
        out.errors.append((None, kb.message("swapped_which")))
