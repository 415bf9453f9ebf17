"""A message outside a running form: a new question, a follow-up, or a request for more.

`fresh` answers from knowledge or starts the form the message asks for (with what the
message already says); `follow_up` reads a short message in the topic just answered;
`answer` says a knowledge answer, the "not ours" reply, or, only when truly torn, a menu.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.conversation import context, filling, placing, results
from bot.conversation.forms import FORMS, Form
from bot.conversation.people import NEXT_PERSON, same_person
from bot.conversation.reading import is_question, normal
from bot.conversation.state import State
from bot.conversation.turn import Step, TurnContext
from bot.knowledge.message import Message

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "reused": ("values",), "reused_for": ("values", "person"), "from_result": ("value",),
}
_SAME_DAY_AS_BEFORE = re.compile(r"(?:も|私と|わたしと|自分と|僕と|俺と)\s*同じ日|(?:も|と)\s*同日"
                                 r"|同じ日に(?:受け?取|もら|作|発行|交付)")
# "妻の分をお願いします", "母の期限を計算して", "家族の期限を知りたい" (not "妻の分を代わりに更新できる?")
_SOMEONES_EXPIRY = re.compile(r"の(?:分|ぶん)(?:を|も)?\s*(?:お願い|おねがい|計算|けいさん|教えて|おしえて|知りたい|[。!?]*$|[。、,])"
                              r"|(?:私|わたし|自分|僕|俺)の(?:を|も)\s*(?:お願い|おねがい|計算)"
                              r"|の(?:電子証明書の|証明書の|カードの)?(?:有効)?期限(?:を|が|は)?\s*(?:知りたい|教えて|計算)")


def answer(t: TurnContext, state: State, intent: str | None = None, score: float | None = None) -> Step:
    kb, match = t.kb, t.match
    intent = match.intent if intent is None else intent
    score = match.score if score is None else score
    if intent is None:
        close = [c.intent for c in match.ranking[:3]
                 if c.score >= match.score * 0.8 and c.intent in kb.messages["topics"]]
        messages = [Message(kb.message("fallback"))]
        if close and match.score > 0.2 and not out_of_scope(t):
            messages.append(Message(kb.message("fallback_topics"), tuple(kb.topic(i) for i in close)))
        messages.append(Message(kb.message("contact_hint"), (kb.topic("contact"),)))
        return Step(state, tuple(messages), None, match.in_domain_score, None, False)
    others: list[str] = []
    if match.ambiguous and intent == match.intent:
        others = [c.intent for c in match.ranking[1:3] if c.score >= match.score - 2 * t.config.clarify_margin
                  and c.intent in kb.messages["topics"] and c.intent != intent]
        if others and score < t.config.menu_below and intent in kb.messages["topics"]:
            options = tuple(kb.topic(i) for i in (intent, *others))
            return Step(state, (Message(kb.message("clarify"), options),), intent, score, None, False)
    if intent not in kb.answers:
        return Step(state, (Message(kb.message("fallback")),), intent, score)
    messages = kb.render(intent, t.municipality, said=state.said, today=t.today)
    if t.municipality is None and kb.answers[intent].local:
        state = state.but(said=state.said | {"check_local"})
    first = messages[0]
    replies = first.quick_replies
    if others:  # a close second, one tap away
        replies = (*(kb.topic(i) for i in others), *replies)
    if intent == "help":
        replies = (*replies, *(kb.topic(i) for i in kb.messages["menu"]))
    messages[0] = first.but(quick_replies=tuple(dict.fromkeys(replies)))
    return Step(state, tuple(messages), intent, score)


def more(t: TurnContext, state: State, command: str) -> Step:
    """「理由を見る」 after a result, 「詳しく」 after an answer."""
    kb = t.kb
    last = state.last
    if command == "reasons" and last is not None:
        form = FORMS[last.form]
        if last.form == "calc_expiry":
            labels = {s.name: s.label for s in form.slots}
            text = results.expiry_reasons(last.slots, last.facts, last.result, kb, labels)
        else:
            text = "\n".join(f"・{n}" for n in last.result.get("notes", ()))
        return Step(state, (Message(text),), last.form, 1.0)
    topic = state.topic or ""
    return Step(state, tuple(kb.render_details(topic, t.municipality)), topic, 1.0)


def fresh(t: TurnContext, state: State) -> Step:
    soft = FORMS.get(state.soft or "")
    state = state.but(soft=None, asked=None)
    if soft is not None:
        trial = state.but(form=soft.intent, asked=soft.slots[0].name)
        found = filling.place(t, soft, trial)
        if takes_answer(t, soft, found):
            return filling.advance(t, soft, trial, found)
    readings: dict[str, placing.Placement] = {}

    def reading(name: str) -> placing.Placement:
        if name not in readings:
            readings[name] = filling.place(t, FORMS[name], State(form=name, slots=_kept(state, name)))
        return readings[name]

    form = form_to_start(t, reading, state.known.get("person"))
    if form is None:
        return answer(t, state)
    found = reading(form.intent)
    if form.intent != "calc_expiry" and not found.found:
        # Asked in general: answer from knowledge, and stay ready to compute.
        general = answer(t, state.form_done().but(soft=form.intent))
        _, choices = form.slots[0].question({}, {})
        offer = () if form.offer is None else (
            Message(t.kb.message(form.offer), tuple(t.kb.messages[choices]) if choices else ()),
        )
        return Step(general.state, general.messages + offer, form.intent, general.confidence)
    # What the person said earlier in this conversation is not asked again; the reply says it was reused.
    # Not for someone else ("では妻の分をお願いします" after the writer's own).
    owners = {d.owner for d in t.reading.dates if d.label == "birth_date"}
    whose = t.reading.whose or (owners.pop() if len(owners) == 1 else None)  # "弟は平成10年…生まれです"
    other = whose is not None and same_person(whose) != same_person(state.known.get("person") or "私")
    waiting = dict(state.known.get("others", {}).get(same_person(whose)) or {}) if other and whose else {}
    last = state.last
    if other and last is not None and last.form == form.intent and _SAME_DAY_AS_BEFORE.search(normal(t.text)):
        # "妻も同じ日に受け取りました。妻は…生まれ": the days of the result just given
        waiting.update({k: v for k, v in last.slots.items() if k in ("issued_on", "card_issued_on")})
    reused = {k: v for k, v in waiting.items() if k not in found.values} if other else {
        k: v for k, v in _kept(state, form.intent).items() if k not in found.values}
    if reused and found.errors and not found.values:
        # "1968年3月3日" after someone's result: no issue day (before 2016), so a birth date, of someone
        # else: their computation, not the earlier person's birth date with this as its issue day
        alone = filling.place(t, form, State(form=form.intent))
        if "birth_date" in alone.values and not alone.errors:
            found, reused = alone, {}
    facts = {k: v for k, v in state.known.items() if k in filling.KEPT_FACTS and not other}  # "外国人です" said before
    state = state.form_done().but(form=form.intent, slots=reused, facts=facts)
    step = filling.advance(t, form, state, found)
    if reused:
        values = "、".join(f"{form.slot(k).label} {filling.shown(v)}" for k, v in reused.items())
        said = t.kb.message("reused_for", values=values, person="ご本人" if same_person(whose) == "私" else whose) \
            if other and whose else \
            t.kb.message("reused", values=values)
        step = step.before(Message(said))
    return step


def _kept(state: State, form: str) -> dict[str, str]:
    """The values this conversation already knows that `form` would ask for."""
    if form != "calc_expiry":
        return {}
    return {k: v for k, v in state.known.items() if k in filling.KEPT}


def someone_else(t: TurnContext, person: str | None) -> bool:
    """Whether the message asks for the expiry of someone other than `person`, whose was computed
    last (the writer when none was): "では妻の分を", "今度は私のをお願いします"."""
    norm = normal(t.text)
    return bool(_SOMEONES_EXPIRY.search(norm) or NEXT_PERSON.search(norm)) and t.reading.whose is not None \
        and same_person(t.reading.whose) != same_person(person or "私")  # read only then


def form_to_start(t: TurnContext, reading: Callable[[str], placing.Placement], person: str | None = None) -> Form | None:
    """The form a new message starts: the matched one, unless the dates in it say otherwise."""
    match = t.match
    form = FORMS.get(match.intent or "")
    if form is not FORMS["calc_expiry"] and someone_else(t, person):
        return FORMS["calc_expiry"]  # "では妻の分をお願いします", "家族の期限を知りたい": a computation for them
    if form is None and not t.has_dates:
        return None  # no form asked for and no date given: most questions, answered from knowledge
    calc = reading("calc_expiry")
    if (form is not None and form.intent != "calc_expiry" and match.ambiguous and match.score < t.config.menu_below
            and not reading(form.intent).found):
        return None  # too close to call and nothing to compute: answer() asks which topic
    calc_dates = calc.labelled & {"birth_date", "issued_on"}
    if form is FORMS["renewal_window"] and calc_dates and "expires_on" not in calc.other:
        return FORMS["calc_expiry"]  # "いつから更新できる? 生年月日は…、発行は…": the dates decide
    if form is FORMS["fee"] and "birth_date" in calc.labelled and calc.labelled & {"issued_on", "card_issued_on"}:
        return FORMS["calc_expiry"]  # "…生まれ、…に受け取りました。期限と…お金がかかるか": the fee comes with it
    if form is FORMS["calc_expiry"] and not calc.values and "expires_on" in calc.other:
        return FORMS["renewal_window"]  # "期限は2027/7/15、いつまで使える?"
    if form is None and "birth_date" in calc.labelled and (match.intent is None or not is_question(t.text)
                                                           or calc.labelled & {"issued_on", "card_issued_on"}):
        # A birth date is only ever given for the computation; with the card's or the certificates'
        # day too, whatever the question is about ("在留期間は…、…生まれで…に作りました。期限を教えて")
        return FORMS["calc_expiry"]
    if form is not None and form is not FORMS["renewal_window"] and "expires_on" in calc.other \
            and not calc.values and context.mentions(t.text, t.ctx.window_words):
        return FORMS["renewal_window"]  # "期限は2027年1月31日…もう更新できる? お金は?": the window, then the fee
    return form


def follow_up(t: TurnContext, state: State) -> Step | None:
    """A short message right after an answer, read in its topic with what is already known."""
    ctx, text, match = t.ctx, t.text, t.match
    topic = state.topic
    if topic is None or not context.is_follow_up(text, ctx):
        return None
    top = match.ranking[0].intent if match.ranking else None
    if topic in ctx.fee_after and (context.mentions(text, ctx.fee_words) or top == "fee"):
        form = FORMS["fee"]
        said = filling.place(t, form, State(form="fee")).values.get("reason")
        # What this message says, else what the conversation said (盗まれた before), else the topic's case.
        reason = said or state.known.get("fee_reason") or ctx.fee_after[topic]
        found = placing.Placement(values={"reason": reason})
        return filling.advance(t, form, state.form_done().but(form=form.intent), found)
    last = state.last
    if last is not None and last.form == "calc_expiry" and topic == last.form and (
            context.mentions(text, ctx.window_words) or top == "renewal_window"):
        result = last.result
        earliest = min(d for d in (result["user_certificate_expires_on"],
                                   result["signature_certificate_expires_on"]) if d)
        form = FORMS["renewal_window"]
        note = t.kb.message("from_result", value=filling.shown(earliest))
        found = placing.Placement(values={"expires_on": earliest}, notes={"expires_on": note})
        return filling.advance(t, form, state.form_done().but(form=form.intent), found)
    if match.exact:  # a button's own words: its topic, which the context does not change
        return None
    part = context.part_for(text, topic, t.kb)
    if part is not None:
        return Step(state, tuple(t.kb.render_part(topic, part, t.municipality)), topic, 1.0)
    related = ctx.related.get(topic, ())
    if match.intent is None or match.ambiguous:
        near = [c for c in match.ranking[:3] if c.intent in related]
        if near and near[0].score >= match.score * 0.8 and near[0].score >= t.config.related_floor:
            return answer(t, state, intent=near[0].intent, score=near[0].score)
    return None


def takes_answer(t: TurnContext, form: Form, found: placing.Placement) -> bool:
    """Whether a message with something readable in it answers the form rather than asking something else.

    "カードをなくした" answers the fee question even though the matcher hears lost_card;
    "引っ越したら証明書はどうなる?" is its own question.
    """
    match = t.match
    if not found.found:
        return False
    if found.labelled or found.errors or found.partial or found.pending or found.answers_asked \
            or match.intent in (None, form.intent):
        return True
    if match.exact:
        return False
    return match.ambiguous or not is_question(t.text)


def out_of_scope(t: TurnContext) -> bool:
    """The matcher placed the text in a learned "not ours" intent (weather, other services)."""
    top = t.match.ranking[0] if t.match.ranking else None
    return top is not None and top.intent not in t.kb.answers and top.intent not in FORMS and top.score >= 0.5
