"""report.html as a document: every card, every shot, totals, escaping, and self-containment.

The page is parsed with the standard library's HTML parser, the way a browser tokenizes it: an
escaping mistake shows up as an element or attribute that should not be there.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kling_batch.report import POSTER_FRAGMENT, gather, render_report, write_report

from .conftest import HOSTILE_PROMPT, Output


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Node] = field(default_factory=list)


class Tree(HTMLParser):
    """A small DOM: enough to ask which elements exist and what text they hold."""

    VOID = frozenset({"meta", "input", "br", "img", "link"})

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.all: list[Node] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.all.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for node in self.stack[1:]:
            node.text += data

    def find(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.all
            if n.tag == tag and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def classes(node: Node) -> set[str]:
    return set(node.attrs.get("class", "").split())


def descendants(node: Node) -> list[Node]:
    found: list[Node] = []
    for child in node.children:
        found.append(child)
        found.extend(descendants(child))
    return found


def card(tree: Tree, entry_id: str) -> Node:
    (found,) = tree.find("article", data_entry=entry_id)
    return found


@pytest.fixture
def page(finished_output: Output) -> str:
    facts = gather(finished_output.layout, finished_output.manifest, finished_output.store)
    return render_report(facts)


def test_one_card_per_entry_with_its_status(page: str, finished_output: Output) -> None:
    tree = Tree(page)
    cards = tree.find("article")

    assert [c.attrs["data-entry"] for c in cards] == [
        e.id for e in finished_output.manifest.entries
    ]
    statuses = {c.attrs["data-entry"]: c.attrs["data-status"] for c in cards}
    assert statuses["hostile"] == "failed"
    assert statuses["not-yet"] == "pending"
    for node in cards:
        badge = next(n for n in descendants(node) if "badge" in classes(n))
        assert badge.text.strip() == node.attrs["data-status"]


def test_storyboard_card_lists_every_shot_in_order(page: str) -> None:
    film = card(Tree(page), "launch-film")
    shots = [n for n in descendants(film) if n.tag == "li"]

    assert [s.text for s in shots] == [
        "wide shot of a city at dawn 4 s",
        "close-up of a coffee cup 4 s",
    ]
    assert [n.text for n in descendants(film) if "shot" in classes(n)] == [
        "wide shot of a city at dawn",
        "close-up of a coffee cup",
    ]


def test_hostile_text_stays_text(page: str) -> None:
    tree = Tree(page)
    hostile = card(tree, "hostile")
    prompt = next(n for n in descendants(hostile) if "prompt" in classes(n))

    assert prompt.text == HOSTILE_PROMPT
    assert len(tree.find("script")) == 1  # the report's own
    assert tree.find("img") == []
    assert not any(k.startswith("on") for n in tree.all for k in n.attrs)
    error = next(n for n in descendants(hostile) if "error" in classes(n))
    assert "DataInspectionFailed <b>moderated</b> & blocked" in error.text
    assert "no </textarea> please" in hostile.text
    # The search index holds the same text, escaped into an attribute and lower-cased.
    assert HOSTILE_PROMPT.lower() in hostile.attrs["data-search"]


def test_failed_card_shows_request_id_and_no_player(page: str) -> None:
    hostile = card(Tree(page), "hostile")

    assert "request req-hostile" in hostile.text
    assert not [n for n in descendants(hostile) if n.tag == "video"]
    assert "the render failed" in hostile.text


def test_done_card_has_a_player_with_a_poster_frame_and_artifact_links(page: str) -> None:
    cat = card(Tree(page), "cat-moonlight")
    (video,) = [n for n in descendants(cat) if n.tag == "video"]
    links = [n.attrs["href"] for n in descendants(cat) if n.tag == "a"]

    assert video.attrs["src"] == "cat-moonlight/video.mp4" + POSTER_FRAGMENT
    assert video.attrs["preload"] == "metadata"
    assert "controls" in video.attrs
    assert "cat-moonlight/request.json" in links
    assert "cat-moonlight/task.json" in links


def test_a_done_entry_whose_video_was_deleted_says_so(page: str) -> None:
    gone = card(Tree(page), "gone-video")

    assert not [n for n in descendants(gone) if n.tag == "video"]
    assert "video file missing" in gone.text


def test_parameters_are_shown(page: str) -> None:
    hero = card(Tree(page), "hero-ref")
    pairs = {}
    terms = [n for n in descendants(hero) if n.tag in ("dt", "dd")]
    for term, value in zip(terms[::2], terms[1::2], strict=True):
        pairs[term.text] = value.text

    assert pairs["model"] == "omni"
    assert pairs["mode"] == "pro"
    assert pairs["audio"] == "yes"
    assert pairs["media: refer"] == "https://example.com/cat.jpg"
    assert pairs["billed"] == "5 s, CNY 6.00"


def test_header_totals(page: str) -> None:
    tree = Tree(page)
    totals = {n.attrs["data-total"]: n.text for n in tree.find("div") if "data-total" in n.attrs}

    assert totals["entries"].startswith("Entries6")
    assert "4 done, 1 failed, 1 pending" in totals["entries"]
    assert "23 s" in totals["billed"]
    assert "CNY 16.80" in totals["actual cost"]  # 5*0.6 + 5*1.2 + 8*0.6 + 5*0.6
    # Every entry at its manifest duration: the billed ones, the failed and the pending 5 s.
    assert "CNY 22.80" in totals["estimated cost"]


def test_a_filter_button_per_status_present(page: str) -> None:
    tree = Tree(page)
    buttons = {b.attrs["data-filter"]: b.text for b in tree.find("button")}

    assert buttons == {
        "all": "All (6)",
        "done": "done (4)",
        "failed": "failed (1)",
        "pending": "pending (1)",
    }


def test_self_contained_no_network_reference(page: str) -> None:
    tree = Tree(page)

    assert tree.find("link") == []
    assert all("src" not in n.attrs for n in tree.find("script"))
    for node in tree.all:
        for name in ("src", "href"):
            value = node.attrs.get(name)
            if value is not None:
                assert not re.match(r"^([a-z][a-z0-9+.-]*:|//)", value), value


def test_the_policy_allows_exactly_the_inline_style_and_script(page: str) -> None:
    tree = Tree(page)
    (meta,) = tree.find("meta", http_equiv="Content-Security-Policy")
    policy = meta.attrs["content"]
    (style,) = tree.find("style")
    (script,) = tree.find("script")

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"style-src 'sha256-{digest(style.text)}'" in policy
    assert f"script-src 'sha256-{digest(script.text)}'" in policy
    assert "default-src 'none'" in policy
    assert "connect-src" not in policy  # falls back to 'none'


def test_write_report_replaces_the_page_atomically(finished_output: Output) -> None:
    layout = finished_output.layout
    layout.folder.mkdir(parents=True, exist_ok=True)
    layout.report.write_text("old")

    path = write_report(layout, finished_output.manifest, finished_output.store)

    assert path == layout.report
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in layout.folder.glob(".*report*")) == []


def test_report_of_an_output_with_nothing_run_yet(output: Output, tmp_path: Path) -> None:
    page = render_report(gather(output.layout, output.manifest, output.store))
    tree = Tree(page)

    assert {c.attrs["data-status"] for c in tree.find("article")} == {"pending"}
    totals = {n.attrs["data-total"]: n.text for n in tree.find("div") if "data-total" in n.attrs}
    assert "not run yet" in totals["wall time"]
