"""One turn of conversation: `step(state, turn, today, kb, ctx, config) -> Step`, a pure function.

The order a message is read in:
1. a municipality named in it is taken for the conversation;
2. cancel words end the running form;
3. 「詳しく」 / 「理由を見る」 show more of the last answer or result;
4. inside a form: an answer to "which date was that?", then what answers the form,
   placed by meaning; a question on the side is answered and the form resumes;
5. a correction right after a result recomputes it and says what changed;
6. a short follow-up is read in the topic just discussed;
7. anything else is a new question, which may start a form.
The next question always comes from the state (the first open slot), so cancel,
digressions and corrections need no special paths.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from bot import rules
from bot.conversation import answering, choices, context, filling, placing
from bot.conversation.answering import answer, fresh
from bot.conversation.context import Context
from bot.conversation.forms import FORMS, Form
from bot.conversation.reading import adult_ward_said, foreign_said, is_question, normal
from bot.conversation.state import State
from bot.conversation.turn import Config, Step, TurnContext, UserTurn
from bot.knowledge.base import Knowledge
from bot.knowledge.message import Message
from bot.understanding.matcher import MatchResult

__all__ = ["MESSAGE_FIELDS", "Config", "Step", "UserTurn", "cancel_rest", "step"]

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "cancelled": (), "restarted": (), "municipality_set": ("name",), "more_label": (), "what_was_wrong": (),
}
DEFAULTS = Config()
_CANCEL = re.compile(
    r"^(?:やっぱり|やはり|もう)?[、,\s]*(?:やめ(?:る|ます|て|た|たい)?|止め(?:る|ます|て)?|キャンセル(?:する|します|して)?"
    r"|最初から(?:やり直し(?:たい|て|ます)?)?|中止(?:する|します|して)?|取り消し|取消|リセット)"
    r"(?:ください|下さい|です|します|ね)?(?=$|[!。、,.\s])[!。、,.\s]*"
)
_RESTART = re.compile(r"^[^。]{0,6}(?:最初から|やり直|リセット)")
# Words that can only be about the fee ("かかりますか" may be about time)
_MONEY = re.compile(r"いくら|幾ら|費用|手数料|料金|お金|おかね|無料|有料|値段|タダ")
# Words that name a slot in an answer to "which date was that?", besides its label.
_SLOT_WORDS = {
    "birth_date": ("生年月日", "誕生日", "生まれ", "たんじょうび", "せいねんがっぴ"),
    "issued_on": ("発行", "更新", "はっこう", "こうしん", "証明書"),
    "card_issued_on": ("カード", "交付", "かーど"),
    "previous_expires_on": ("前の",),
    "residence_expires_on": ("在留",),
}


def after_cancel_words(text: str) -> str | None:
    """What follows the cancel words a message opens with ("" for a plain cancel); None without them."""
    norm = normal(text).strip()
    found = _CANCEL.match(norm)
    return norm[found.end():] if found else None


def cancel_rest(text: str, match: MatchResult) -> str | None:
    """None when the message does not cancel; else what follows the cancel words ("" for a plain cancel)."""
    rest = after_cancel_words(text)
    if rest is not None:
        return rest
    return "" if match.intent == "cancel" and not match.ambiguous else None


def step(state: State, turn: UserTurn, today: date, kb: Knowledge, ctx: Context, config: Config = DEFAULTS) -> Step:
    named = context.municipality_in(turn.text, kb, ctx.places)
    lead: tuple[Message, ...] = ()
    if named is not None and named.id != state.municipality:
        state = state.but(municipality=named.id)
        lead = (Message(kb.message("municipality_set", name=named.name)),)
    if _RESTART.search(normal(turn.text)) and cancel_rest(turn.text, turn.match) is not None:
        # 「最初から」 is how the bot tells people to start on someone else's dates (message "reused"):
        # the dates and the result remembered go too, before what this message says is taken.
        state = state.but(known={}, last=None)
    ward = adult_ward_said(turn.text)
    if ward is not None and ward != state.known.get("adult_ward"):
        # Said once, in any turn ("成年被後見人の証明書の期限は?" before the dates): every expiry
        # computed in this conversation leaves out the signature certificate, and says why;
        # "被保佐人でした" takes it back.
        state = state.but(known={**state.known, "adult_ward": ward})
    if foreign_said(turn.text) and not state.known.get("foreign"):
        state = state.but(known={**state.known, "foreign": True})  # "外国人です" before the dates: asked for the stay
    reason = choices.fee_reason(normal(turn.text), kb)
    if reason is not None and reason != state.known.get("fee_reason"):
        # What a message says of the situation, in any turn, for a later "いくら?": "盗まれた" makes
        # it the theft case, "カードを落として再発行した" (before a computation) the lost card's.
        state = state.but(known={**state.known, "fee_reason": reason})
    t = TurnContext(turn, today, kb, ctx, config, kb.municipality(state.municipality))
    out = _with_fee(t, state, _run(t, state))
    if out.answered and out.intent is not None and out.state.form is None:
        out = out.but(state=out.state.but(topic=out.intent))  # follow-ups are read in this topic
    return out.before(*lead) if lead else out


def _with_fee(t: TurnContext, state: State, out: Step) -> Step:
    """A computed result, and the fee when the same message asks it too ("いつから手続きできますか。
    お金はかかりますか"), unless the result already says it."""
    implied = t.ctx.fee_after.get(out.intent or "")
    if out.result is None or implied is None or not _MONEY.search(normal(t.text)):
        return out
    if any(_MONEY.search(m.text) for m in out.messages):
        return out
    reason = state.known.get("fee_reason") or implied
    fee = filling.finish(t, FORMS["fee"], {"reason": reason}, {})
    return out if fee is None else out.but(messages=out.messages + fee.messages)


_ONLY_WRONG = re.compile(r"(?:(?:いや|いえ|いいえ)[、,\s]*)?(?:違う|ちがう|違います|ちがいます|違いますね|間違ってる|間違っています|まちがってる)"
                         r"(?:よ|けど|んだけど|みたい|です)?[。!?\s]*")


def _run(t: TurnContext, state: State) -> Step:
    rest = cancel_rest(t.text, t.match)
    if rest is not None:
        return _cancel(t, state, rest)
    command = context.command(t.text, state, t.ctx)
    if command is not None:
        return answering.more(t, state, command)
    form = FORMS.get(state.form or "")
    if form is not None:
        return _in_form(t, form, state)
    # "次は母の分を", "さっきの人じゃなくて、今度は私のを": someone else's computation, neither a correction
    # of the last one nor a follow-up of its topic (it went to the proxy's page)
    other = state.last is not None and answering.someone_else(t, state.known.get("person"))
    if state.last is not None and not other and (
            t.reading.correction or t.reading.amending or t.reading.card_too or t.reading.to_fix
            or filling.adds_to(t, state, state.last)):
        reopened = filling.reopen(t, state, state.last, FORMS[state.last.form])
        if reopened is not None:
            return reopened
    if state.last is not None and _ONLY_WRONG.fullmatch(normal(t.text).strip()):
        # "いや、違う" right after a result: which date, is asked (it was "not a question of ours")
        return Step(state, (Message(t.kb.message("what_was_wrong")),), state.last.form, 1.0)
    followed = None if other else answering.follow_up(t, state)
    if followed is not None:
        return followed
    return _also(t, fresh(t, state))


def _also(t: TurnContext, step: Step) -> Step:
    """The message's other questions ("…どうすればいいですか。また、更新に必要なものは?"): each topic
    the matcher is sure of, asked alone, is answered after the whole message's own, by the
    first (short) part of its answer under its name, with its button for the rest. Not in a
    form, and not the fee or the window beside a result (the form answers those itself)."""
    if step.state.form is not None or not step.answered or not t.turn.each:
        return step
    kb, seen, also = t.kb, {step.intent}, []
    for match in t.turn.each:
        intent = match.intent
        if intent is None or match.ambiguous or intent in seen or intent not in kb.answers \
                or intent not in kb.messages["topics"] or (step.result is not None and intent in FORMS):
            continue
        seen.add(intent)
        also.append(intent)
    messages = list(step.messages)
    for intent in also:
        first = kb.render(intent, t.municipality, today=t.today)[0]
        messages.append(first.but(text=f"【{kb.topic(intent)}】\n{first.text}", quick_replies=(kb.topic(intent),)))
    return step.but(messages=tuple(messages), also=tuple(also)) if also else step


def _cancel(t: TurnContext, state: State, rest: str) -> Step:
    was = state.form
    state = state.form_done()
    if rest and t.match.intent in (None, "cancel") and t.turn.rest_match is not None:
        # "最初から。母の分の期限を計算したい", "キャンセルして、窓口の場所を教えて": the whole matched
        # "cancel"; the request after the cancel words is what is answered
        t = replace(t, turn=replace(t.turn, match=t.turn.rest_match))
    after = fresh(t, state) if rest and t.match.intent != "cancel" else None
    if after is not None and (after.answered or after.state.form is not None):
        # "最初から。生年月日は…", "やめて、手数料は?", "最初から。家族の期限を知りたい": end the form,
        # then take the rest as new
        key = "restarted" if was is not None and after.state.form == was else "cancelled"
        return after.before(Message(t.kb.message(key))) if was is not None else after
    menu = tuple(t.kb.topic(i) for i in t.kb.messages["menu"][:4])
    text = t.kb.message("cancelled") if was is not None else t.kb.answers["cancel"].text.strip()
    return Step(state, (Message(text, menu),), "cancel", t.match.score)


def _in_form(t: TurnContext, form: Form, state: State) -> Step:
    match = t.match
    if state.pending is not None:
        chosen = _pending_choice(t, form, state)
        if chosen is not None:
            found = placing.Placement(values={chosen: state.pending.value})
            return filling.advance(t, form, state.but(pending=None), found)
    found = filling.place(t, form, state)
    if answering.takes_answer(t, form, found):
        return filling.advance(t, form, state.but(pending=None), found)
    if match.intent == "goodbye" and not match.ambiguous:
        return answer(t, state.form_done())
    if t.reading.dont_know:
        return filling.dont_know(t, form, state)
    other = FORMS.get(match.intent or "")
    if other is not None and other is not form and not match.ambiguous:
        fresh_state = state.form_done().but(form=other.intent)
        switch = filling.place(t, other, fresh_state)
        if switch.labelled and other.open_slots(switch.values, switch.facts):
            return filling.advance(t, other, fresh_state, switch)  # dates for another computation: a switch
    side = _side_question(t, form, state, found)
    if side is not None:
        resumed, prompt = filling.ask(t, form, side.state, resume=True)
        return side.but(state=resumed, messages=side.messages + prompt)
    if match.intent == form.intent:
        asked, prompt = filling.ask(t, form, state)  # asked for this computation again: ask again
        return Step(asked, prompt, form.intent, match.score)
    return filling.failed(t, form, state)


def _pending_choice(t: TurnContext, form: Form, state: State) -> str | None:
    assert state.pending is not None
    norm = normal(t.text)
    named = [name for name in state.pending.options
             if normal(form.slot(name).label) in norm or any(normal(w) in norm for w in _SLOT_WORDS.get(name, ()))]
    return named[0] if len(named) == 1 else None


def _side_question(t: TurnContext, form: Form, state: State, found: placing.Placement) -> Step | None:
    """A question in the middle of a form: answered (computed where it can be) without losing the form."""
    match = t.match
    other = FORMS.get(match.intent or "") if not match.ambiguous and match.intent != form.intent else None
    if other is None and found.other.get("expires_on"):
        other = FORMS["renewal_window"]
    for candidate in (FORMS.get(state.soft or ""), other):
        if candidate is None or candidate is form:
            continue
        side = filling.place(t, candidate, State(form=candidate.intent))
        if not side.values or candidate.open_slots(side.values, side.facts):
            continue
        try:
            finished = filling.finish(t, candidate, side.values, side.facts)
        except rules.RuleInputError:
            continue  # dates that cannot be: answer the question in general instead
        if finished is None:
            continue
        return Step(state.but(soft=None), finished.messages, candidate.intent, t.confidence(candidate.intent),
                    finished.result)
    if other is not None:
        return answer(t, state.but(soft=other.intent))
    if match.intent is not None and not match.ambiguous:
        return answer(t, state.but(soft=None))
    if match.intent is None and (answering.out_of_scope(t) or is_question(t.text)):
        return answer(t, state)
    return None
