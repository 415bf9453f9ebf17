"""Which part of a message asks: sentences, and the ones that carry the question.

Elderly citizens write letters: who they are, what happened, and the question last
(or first). The matcher keeps every sentence (the background holds facts: a lost card,
a child, a move) but weighs the sentences that ask. A sentence asks when it ends the
way a Japanese question or request ends (〜ですか, 〜でしょうか, 教えてください,
知りたいです, ?); a bare request (「教えてください。」) joins the sentence before it,
which holds what it asks about. A message whose sentences all ask, or none, has no
asking part: all of it counts alike.
"""

from __future__ import annotations

import re

# Sentence ends; the text is already normalised (NFKC: ？ is ?, ！ is !).
_ENDS = re.compile(r"[^。!?\n]+[。!?\n]*")
_ASKS = re.compile(
    r"(?:か|かな|かね|かしら|かい|っけ|だろう|でしょう|ですかね|ますかね|べか|やろ|(?<!せ)ん[?]|の[?])[?]*[。!\n]*$"
    r"|[?]"
    r"|(?:教えて|おしえて|知りたい|しりたい|聞きたい|ききたい|伺いたい|ご教示|確認したい|相談したい)"
    r"|(?:ください|下さい|ほしいです|欲しいです|お願いします|お願いいたします|もらえますか|もらえる)[。!\n]*$"
    r"|(?:どう|どこ|いつ|いくら|何|なに|どれ|どっち|どちら|誰|だれ)[^。!?\n]{0,10}(?:いい|よい|良い|なる|する|の)[。!\n]*$"
)
# Kanji and katakana: a sentence with fewer than three says little of its topic.
_TOPIC_CHARS = re.compile("[\u30a1-\u30fa\u3005\u3400-\u4dbf\u4e00-\u9fff]")


def sentences(text: str) -> list[str]:
    """The sentences of a normalised text, each with its end mark.

    >>> sentences("母が80歳です。カードをなくしました。どうすればいいですか?")
    ['母が80歳です。', 'カードをなくしました。', 'どうすればいいですか?']
    >>> sentences("暗証番号 忘れた")
    ['暗証番号 忘れた']
    """
    return [m.group(0) for m in _ENDS.finditer(text) if m.group(0).strip("。!?\n ")]


def asks(sentence: str) -> bool:
    """Whether a sentence asks or requests something.

    >>> [asks(s) for s in ["先月引っ越しました。", "手数料はかかるのでしょうか。", "教えてください。", "更新したい"]]
    [False, True, True, False]
    """
    return _ASKS.search(sentence.rstrip()) is not None


def asking(parts: list[str]) -> list[bool] | None:
    """Which of a message's sentences ask, when some do and some do not; None otherwise.

    >>> asking(["先月引っ越しました。", "署名用の証明書はどうなりますか。"])
    [False, True]
    >>> asking(["夫が入院中です。", "代わりに更新したいのですが、何が必要か。", "教えてください。"])
    [False, True, True]
    >>> asking(["手数料はいくらですか"]) is None
    True
    """
    if len(parts) < 2:
        return None
    picked = [False] * len(parts)
    for i, part in enumerate(parts):
        if asks(part):
            picked[i] = True
            # A bare request (教えてください, どうすればいいですか) says nothing of its
            # topic: the sentence before it does.
            if i and len(_TOPIC_CHARS.findall(part)) < 3:
                picked[i - 1] = True
    if all(picked) or not any(picked):
        return None
    return picked


def asking_part(text: str) -> str:
    """The sentences that ask, when a message has others besides; "" when there is no such split.

    >>> asking_part("先月引っ越しました。署名用の証明書はどうなりますか。")
    '署名用の証明書はどうなりますか。'
    >>> asking_part("子どもが3歳です。暗証番号を忘れました。どうすればいいですか")
    '暗証番号を忘れました。どうすればいいですか'
    >>> asking_part("手数料はいくらですか")
    ''
    """
    parts = sentences(text)
    picked = asking(parts)
    return "".join(p for p, keep in zip(parts, picked) if keep) if picked else ""


# Inside one sentence, a second question joined by a connective ("…ですか、また…できますか") or a
# numbered item ("①…②…").
_JOINED = re.compile(r"(?<=[、,\s])(?=(?:また|それと|それから|あと|ついでに|あわせて|併せて)[、,\s]?)|(?=[①②③④⑤⑥⑦⑧⑨])")


def questions(text: str) -> list[str]:
    """The separate questions of a normalised message: each part that asks, with the sentence
    before a bare request that says nothing of its topic ("…忘れました。どうすればいいですか").

    >>> questions("先月引っ越しました。手数料はいくらですか?代理人でもできますか?")
    ['手数料はいくらですか?', '代理人でもできますか?']
    >>> questions("暗証番号を忘れました。どうすればいいですか。また、更新に必要なものは?")
    ['暗証番号を忘れました。どうすればいいですか。', 'また、更新に必要なものは?']
    >>> questions("手数料はかかりますか、それと受付時間を教えてください")
    ['手数料はかかりますか、', 'それと受付時間を教えてください']
    """
    parts = [piece for sentence in sentences(text) for piece in _JOINED.split(sentence) if piece.strip()]
    found: list[str] = []
    for i, part in enumerate(parts):
        if not asks(part.rstrip("、, ")):
            continue
        if i and len(_TOPIC_CHARS.findall(part)) < 3:
            if found and found[-1] == parts[i - 1]:
                found[-1] += part
                continue
            part = parts[i - 1] + part
        found.append(part)
    return found
