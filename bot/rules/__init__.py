"""The rules: which dates a card and its certificates have, when renewal opens, what it costs.

Pure functions of their inputs (`today` is always a parameter), shared by the dialogue,
the HTTP rules routes and any outside checker: validity (the card, the certificates, the
renewal window), fees (a table), and dates (reading the dates citizens type, writing them
the way the bot says them).
"""

from __future__ import annotations

from bot.rules.fees import FEE_REASONS, FEES, fee, yen
from bot.rules.validity import (
    CARD_NOTE_PREFIX,
    CERT_YEARS,
    CERT_YEARS_RENEWED_IN_WINDOW,
    LAST_DAY_OF_OLD_ADULT_AGE,
    RuleInputError,
    age_on,
    expiry,
    nth_birthday_after,
    renewal_opens_on,
    renewal_window,
    to_json,
)

__all__ = [
    "CARD_NOTE_PREFIX", "CERT_YEARS", "CERT_YEARS_RENEWED_IN_WINDOW", "FEES", "FEE_REASONS", "LAST_DAY_OF_OLD_ADULT_AGE",
    "RuleInputError",
    "age_on", "expiry", "fee", "nth_birthday_after", "renewal_opens_on", "renewal_window", "to_json", "yen",
]
