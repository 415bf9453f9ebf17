"""The knowledge base as loaded at start-up: every answer rests on an official page, every profile says when it was checked.

Each refusal is tested on a copy of knowledge/ with one thing broken, and must name the file.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.engine import Core
from bot.knowledge.base import MAX_LINKS, NO_FACTS, TEXT_MAX_CHARS, Knowledge, load_knowledge
from bot.knowledge.yamlfile import DataError, parse

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture
def names(core: Core) -> list[str]:
    return [i.name for i in core.intents if i.in_domain]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


def rewrite(path: Path, **changes: object) -> None:
    data = parse(path.read_text(encoding="utf-8"))
    data.update(changes)
    for key, value in list(data.items()):
        if value is None and key in changes:
            del data[key]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_every_answer_of_fact_links_an_official_https_page(core: Core) -> None:
    kb: Knowledge = core.knowledge
    for answer in kb.answers.values():
        if answer.intent in NO_FACTS:
            continue
        assert answer.links, answer.intent
        assert all(link.url.startswith("https://") and link.title for link in answer.links), answer.intent
        assert len(answer.text.strip()) <= TEXT_MAX_CHARS, answer.intent
        official = [k for k in answer.sources if kb.sources[k].get("official")]
        assert official, f"{answer.intent} rests on the blog or the rules table alone"


def test_every_profile_names_its_page_and_when_it_was_checked(core: Core) -> None:
    for muni in core.knowledge.municipalities.values():
        assert muni.page is not None and muni.page.url.startswith("https://"), muni.id
        assert isinstance(muni.checked_on, date), muni.id


def test_an_answer_resting_on_the_blog_alone_stops_start_up(copy: Path, names: list[str]) -> None:
    rewrite(copy / "answers" / "after_renewal.yaml", sources=["blog"])
    with pytest.raises(DataError, match=r"after_renewal\.yaml.*no official source"):
        load_knowledge(copy, names)


def test_an_answer_too_long_for_its_first_bubble_stops_start_up(copy: Path, names: list[str]) -> None:
    rewrite(copy / "answers" / "fee.yaml", text="あ" * (TEXT_MAX_CHARS + 1))
    with pytest.raises(DataError, match=r"fee\.yaml.*details"):
        load_knowledge(copy, names)


@pytest.mark.parametrize(("field", "value", "complaint"), [
    ("checked_on", None, "checked_on"),
    ("page_url", None, "page_url"),
    ("page_url", "http://www.city.zama.kanagawa.jp/", "page_url"),
    ("updated_on", "last spring", "updated_on"),
])
def test_a_profile_without_its_page_or_check_date_stops_start_up(copy: Path, names: list[str], field: str,
                                                                 value: object, complaint: str) -> None:
    rewrite(copy / "municipalities" / "zama.yaml", **{field: value})
    with pytest.raises(DataError, match=rf"zama\.yaml.*{complaint}"):
        load_knowledge(copy, names)


def test_an_official_source_without_an_address_stops_start_up(copy: Path, names: list[str]) -> None:
    path = copy / "sources.yaml"
    data = parse(path.read_text(encoding="utf-8"))
    del data["kama"]["url"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataError, match=r"sources\.yaml.*kama.*no url"):
        load_knowledge(copy, names)


def test_links_put_the_municipalitys_own_page_first_then_national_pages(core: Core) -> None:
    kb = core.knowledge
    zama = kb.municipality("zama")
    links = kb.links(kb.answers["forgot_pin"], zama)
    assert links[0] == zama.page and len(links) <= MAX_LINKS
    national = kb.links(kb.answers["forgot_pin"], None)
    assert national[0].url.split("/")[2].endswith(".go.jp")


def test_old_local_data_is_said_to_be_of_its_year(core: Core) -> None:
    kb = core.knowledge
    nagoya = kb.municipality("nagoya")
    assert nagoya.updated_on == date(2025, 10, 16)
    fresh = kb.local_note(("phone",), nagoya, today=date(2026, 12, 5))
    stale = kb.local_note(("phone",), nagoya, today=date(2028, 1, 5))
    assert "時点" not in fresh
    assert "2025年時点" in stale and "名古屋市のページでご確認ください" in stale
