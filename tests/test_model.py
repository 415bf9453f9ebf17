"""The intent model: trained from examples, stored with a fingerprint, never used when stale."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.__main__ import main
from bot.understanding import matcher as matcher_module
from bot.understanding.analyzer import Analyzer
from bot.understanding.intents import Intent
from bot.understanding.matcher import Matcher, MatcherConfig
from bot.understanding.model import IntentModel

INTENTS = (
    Intent("fee", ("手数料はいくら", "費用はかかる?", "お金いる?", "無料ですか", "料金を知りたい", "何円かかる",
                   "更新の手数料", "再発行の費用", "タダ?", "有料ですか"), deciding=(("cost", ("手数料", "タダ")),)),
    Intent("forgot_pin", ("暗証番号を忘れた", "パスワードが思い出せない", "ロックされた", "番号がわからない",
                          "暗証番号をリセットしたい", "何回も間違えた", "暗証番号 忘れ", "番号を初期化したい",
                          "パスワード忘れちゃった", "ロック解除したい")),
    Intent("garbage", ("燃えるゴミの日", "粗大ごみの出し方", "ゴミの分別", "資源ごみはいつ", "ごみ袋はどこで買う",
                       "ゴミ収集の時間", "生ごみの出し方", "缶の捨て方", "ペットボトルの日", "古紙の回収"),
           kind="out_of_scope"),
)
CONFIG = MatcherConfig(model_min_examples=8)


def test_a_stored_model_is_used_while_fresh(analyzer: Analyzer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.npz"
    trained = Matcher(INTENTS, analyzer, CONFIG, model_path=path)
    assert trained.model is not None
    trained.model.save(path)
    monkeypatch.setattr(matcher_module, "train", lambda *a, **k: pytest.fail("a fresh stored model was retrained"))
    loaded = Matcher(INTENTS, analyzer, CONFIG, model_path=path)
    assert loaded.model is not None and loaded.model.fingerprint == trained.model.fingerprint
    for question in ("手数料 いくら", "ぱすわーど わすれた", "ゴミの日はいつ"):
        np.testing.assert_allclose(loaded.scores(question)[0], trained.scores(question)[0], atol=2e-3)  # float16 weights


@pytest.mark.parametrize(
    "change",
    [
        lambda i: (replace(i[0], examples=(*i[0].examples, "証明書の代金")), *i[1:]),  # an example added
        lambda i: (replace(i[0], deciding=(("cost", ("手数料", "タダ", "無料")),)), *i[1:]),  # a deciding word
        lambda i: (i[1], i[0], i[2]),  # the intents in another order
    ],
    ids=["example", "deciding word", "order"],
)
def test_a_stale_model_is_detected_and_retrained(analyzer: Analyzer, tmp_path: Path, caplog: pytest.LogCaptureFixture, change) -> None:  # noqa: ANN001
    path = tmp_path / "model.npz"
    Matcher(INTENTS, analyzer, CONFIG).model.save(path)  # type: ignore[union-attr]
    changed = change(INTENTS)
    with caplog.at_level(logging.WARNING, logger="bot.matcher"):
        matcher = Matcher(changed, analyzer, CONFIG, model_path=path)
    assert "stale" in caplog.text
    assert matcher.model is not None and matcher.model.fingerprint != IntentModel.load(path).fingerprint
    assert matcher.model.classes == tuple(i.name for i in changed)


def test_an_unreadable_model_is_retrained(analyzer: Analyzer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="bot.matcher"):
        assert Matcher(INTENTS, analyzer, CONFIG, model_path=path).model is not None
    assert "unreadable" in caplog.text


def test_too_few_examples_get_no_model(analyzer: Analyzer) -> None:
    small = tuple(replace(i, examples=i.examples[:3]) for i in INTENTS)
    assert Matcher(small, analyzer, CONFIG).model is None


def test_the_committed_model_is_fresh(capsys: pytest.CaptureFixture[str]) -> None:
    # Staff who change intents.yaml run `python -m bot train` and commit model/; this fails otherwise.
    assert main(["train", "--check"]) == 0, capsys.readouterr().out
