"""The fee rules of /work/shared/spec/rules.md (and the theft case it leaves open), as data and one function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.rules.validity import RuleInputError

__all__ = ["FEES", "FEE_REASONS", "fee", "yen"]


@dataclass(frozen=True)
class _Fee:
    certificate_yen: int
    card_yen: int | None  # None: no card is issued for this reason
    note: str


FEES: dict[str, _Fee] = {
    "first_issue": _Fee(0, 0, "カードを初めて受け取るときは、カードも電子証明書の発行も無料です。"),
    "renewal": _Fee(0, None, "電子証明書の更新は無料です。"),
    "reissue_after_expiry": _Fee(0, None, "有効期限が過ぎたあとに新しく発行するときも無料です。"),
    "reissue_after_invalidation": _Fee(
        0, None, "引っ越しや氏名の変更などで失効したあとに発行するときも、当分の間は無料です。"
    ),
    "card_reissue_own_fault": _Fee(
        200, 800, "紛失や破損などご自身の理由でカードを再交付するときは、電子証明書200円とカード800円で、合わせて1,000円です。"
    ),
    # Not in rules.md, whose reissue row is the holder's own loss or damage. Official municipal
    # pages (Kakogawa, Matsuyama, Yamato; knowledge/sources.yaml) charge nothing when the card
    # was stolen and the police theft report's receipt number is shown, or lost through no
    # fault of the holder's (a disaster): the bot must not charge those 1,000円.
    "card_reissue_not_own_fault": _Fee(
        0, 0, "盗まれて警察に盗難届を出した場合(受理番号が必要)や災害など、ご自身の責めによらない理由でカードを"
        "再交付するときは、手数料はかかりません。扱いはお住まいの市区町村でご確認ください。"
    ),
}
FEE_REASONS: tuple[str, ...] = tuple(FEES)


def yen(amount: int) -> str:
    """An amount the way the bot says it.

    >>> yen(0), yen(200), yen(1000)
    ('無料', '200円', '1,000円')
    """
    return "無料" if amount == 0 else f"{amount:,}円"


def fee(reason: str) -> dict[str, Any]:
    """What the certificate (and, where one is made, the card) costs.

    >>> fee("card_reissue_own_fault")["total_yen"]
    1000
    >>> fee("renewal")["card_fee_yen"] is None
    True
    """
    if reason not in FEES:
        raise RuleInputError("reason", f"{reason!r} は知らない理由です。{', '.join(FEE_REASONS)} のどれかです")
    row = FEES[reason]
    return {
        "certificate_fee_yen": row.certificate_yen,
        "card_fee_yen": row.card_yen,
        "total_yen": row.certificate_yen + (row.card_yen or 0),
        "notes": [row.note],
    }
