"""The request and response bodies of the HTTP API (api.md), as pydantic models.

Kept apart from server.py so that bench/bench_http.py's floor serves exactly the same
shapes without loading the bot.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from bot.rules import FEE_REASONS


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: StrictStr = Field(description="what the user typed", max_length=100_000)
    session_id: StrictStr | None = Field(default=None, description="continue this conversation", max_length=1000)
    municipality: StrictStr | None = Field(default=None, description="local details to use: kama, zama, shinagawa, nagoya", max_length=1000)


class LinkOut(BaseModel):
    title: str = Field(description="the official page's title")
    url: str = Field(description="its address (https)")


class MessageOut(BaseModel):
    text: str
    quick_replies: list[str]
    links: list[LinkOut] = Field(default_factory=list, description="the official pages the message rests on")


class ChatResponse(BaseModel):
    session_id: str
    intent: str | None
    confidence: float
    messages: list[MessageOut]
    result: dict[str, Any] | None


# Wide enough for anyone who holds a card; far dates (0001-01-01, 9999-12-31) would
# overflow the rules' date arithmetic and answer 500 instead of naming the field.
RuleDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))]


class ExpiryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    birth_date: RuleDate
    issued_on: RuleDate
    card_issued_on: RuleDate | None = None
    card_applied_on: RuleDate | None = None
    previous_expires_on: RuleDate | None = None
    residence_expires_on: RuleDate | None = None
    adult_ward: StrictBool = False


class WindowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_on: RuleDate
    today: RuleDate | None = None


class FeeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: StrictStr = Field(description=", ".join(FEE_REASONS), max_length=100)


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. invalid_json, empty_text, text_too_long, rate_limited")
    message: str = Field(description="for the user, in Japanese, with an English gloss in brackets")
    field: str | None = Field(default=None, description="the request field at fault, where there is one")


class ErrorResponse(BaseModel):
    error: ErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give: all share one body shape."""
    meaning = {
        400: "malformed JSON, empty or too long text, control characters, a bad session_id",
        413: "the body is over MAX_BODY_BYTES",
        422: "a field is missing or has the wrong type or range (`field` names it)",
        429: "over RATE_LIMIT_PER_MINUTE for this client; see Retry-After",
        503: "the conversation store (SQLite or Redis) cannot be reached just now; see Retry-After",
    }
    return {status: {"model": ErrorResponse, "description": meaning[status]} for status in statuses}


API_ERRORS = _errors(400, 413, 422, 429)
CHAT_ERRORS = _errors(400, 413, 422, 429, 503)  # a chat turn reads and writes the conversation
