"""report.html as a document: every card, every shot, totals, escaping, and self-containment.

The page is parsed with the standard library's HTML parser, the way a browser tokenizes it: an
escaping mistake shows up as an element or attribute that should not be there.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from kling_batch.delivery.picks import picks_path, write_picks
from kling_batch.manifest.model import Media, MediaType
from kling_batch.report import POSTER_FRAGMENT, gather, render_report, write_report

from .conftest import HOSTILE_PROMPT, Output, shot


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


def test_a_filter_button_per_status_and_per_model_present(page: str) -> None:
    tree = Tree(page)
    buttons = tree.find("button")
    states = {b.attrs["data-filter"]: b.text for b in buttons if "data-filter" in b.attrs}
    models = {
        b.attrs["data-model-filter"]: b.text for b in buttons if "data-model-filter" in b.attrs
    }

    assert states == {
        "all": "All (6)",
        "done": "done (4)",
        "failed": "failed (1)",
        "pending": "pending (1)",
    }
    assert models == {"all": "any model", "omni": "omni (1)", "standard": "standard (5)"}
    assert tree.find("select") == []  # no group of several entries: no group filter


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


# -- pictures, groups, picks and next steps (write_report: the pictures made for real) -------

MODERATED_STEP = "Content moderation refused this render"


def written(output: Output) -> Tree:
    return Tree(write_report(output.layout, output.manifest, output.store).read_text())


def test_done_cards_show_their_poster_frame_on_the_player(finished_output: Output) -> None:
    tree = written(finished_output)
    cat = card(tree, "cat-moonlight")
    (video,) = [n for n in descendants(cat) if n.tag == "video"]

    assert video.attrs["poster"] == "cat-moonlight/poster.jpg"
    assert video.attrs["src"] == "cat-moonlight/video.mp4"
    assert video.attrs["preload"] == "none"  # a thousand cards load no video until played
    assert (finished_output.layout.folder / "cat-moonlight" / "poster.jpg").is_file()
    # A done entry whose video is gone keeps its card, with a placeholder that says why.
    gone = card(tree, "gone-video")
    assert not [n for n in descendants(gone) if n.tag == "video"]
    assert "no picture: video.mp4 is missing" in gone.text


def test_a_video_whose_frame_cannot_be_read_keeps_a_player_and_says_why(output: Output) -> None:
    output.succeed("cat-moonlight", 5, video=b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 64)
    tree = written(output)
    cat = card(tree, "cat-moonlight")
    (video,) = [n for n in descendants(cat) if n.tag == "video"]

    assert "poster" not in video.attrs
    assert video.attrs["src"] == "cat-moonlight/video.mp4" + POSTER_FRAGMENT
    (note,) = [n for n in descendants(cat) if "frame-note" in classes(n)]
    assert note.text.startswith("no poster frame: ffmpeg cannot read the video: ")


def test_the_report_links_the_contact_sheet_beside_it(finished_output: Output) -> None:
    tree = written(finished_output)
    links = [a.attrs["href"] for a in tree.find("a")]

    assert "contact-sheet.png" in links
    assert (finished_output.layout.folder / "contact-sheet.png").is_file()


def test_local_input_images_are_shown_as_thumbnails(output: Output, tmp_path: Path) -> None:
    start = tmp_path / "start.png"
    Image.new("RGB", (640, 360), (200, 120, 40)).save(start)
    entry = shot(
        "flower",
        "the flower opens",
        media=(Media(MediaType.FIRST_FRAME, path=start),),
    )
    flower = Output(output.layout, replace(output.manifest, entries=(entry,)), output.store)
    tree = written(flower)
    (image,) = tree.find("img")

    assert image.attrs["alt"] == "first frame: start.png"
    assert image.attrs["src"].startswith("_thumbnails/")
    assert (output.layout.folder / image.attrs["src"]).is_file()
    terms = [n.text for n in descendants(card(tree, "flower")) if n.tag == "dt"]
    assert "media: first_frame" not in terms  # the thumbnail names it


def test_render_time_and_billed_seconds_on_each_card(output: Output) -> None:
    output.succeed("cat-moonlight", 5, times=("2026-12-01 09:30:00.000", "2026-12-01 09:31:12.500"))
    pairs = {}
    terms = [
        n for n in descendants(card(written(output), "cat-moonlight")) if n.tag in ("dt", "dd")
    ]
    for term, value in zip(terms[::2], terms[1::2], strict=True):
        pairs[term.text] = value.text

    assert pairs["render time"] == "1 min 12 s"
    assert pairs["billed"] == "5 s, CNY 3.00"


@pytest.mark.parametrize(
    ("code", "step"),
    [
        ("DataInspectionFailed", MODERATED_STEP),
        ("InvalidParameter.DataInspection", "could not fetch or accept a media file"),
        ("InternalError.Algo", "Run the manifest again with --retry-failed"),
    ],
)
def test_a_failed_card_says_what_to_do_next(output: Output, code: str, step: str) -> None:
    output.fail("hostile", code, "it went wrong")
    (next_step,) = [
        n for n in descendants(card(written(output), "hostile")) if "next-step" in classes(n)
    ]

    assert step in next_step.text


def test_the_takes_of_a_group_sit_side_by_side_with_the_pick_marked(
    finished_output: Output,
) -> None:
    takes = {"cat-moonlight": ("cat", 1), "gone-video": ("cat", 2), "not-yet": ("cat", 3)}
    grouped = with_groups(finished_output, takes)
    write_picks(picks_path(grouped.manifest), {"cat": "cat-moonlight"}, "campaign.yaml")
    tree = written(grouped)

    (section,) = tree.find("section", data_group="cat")
    inside = [n.attrs["data-entry"] for n in descendants(section) if n.tag == "article"]
    assert inside == ["cat-moonlight", "not-yet", "gone-video"]  # in manifest order
    assert "3 takes · picked: cat-moonlight" in section.text
    (row,) = [n for n in descendants(section) if "takes" in classes(n)]
    assert [n.attrs["data-entry"] for n in row.children] == inside
    # The cards outside the group follow in manifest order.
    loose = [
        c.attrs["data-entry"] for c in tree.find("article") if c.attrs["data-entry"] not in inside
    ]
    assert loose == ["hero-ref", "hostile", "launch-film"]

    picked = card(tree, "cat-moonlight")
    assert any("picked" in classes(n) for n in descendants(picked))
    commands = {
        c.attrs["data-entry"]: [n.text for n in descendants(c) if n.tag == "code"]
        for c in tree.find("article")
    }
    path = grouped.manifest.path
    assert commands["cat-moonlight"] == [f"kling-batch pick {path} --clear cat"]
    assert commands["hero-ref"] == [
        f"kling-batch pick {path} hero-ref --output {grouped.layout.folder.parent}"
    ]
    assert commands["gone-video"] == [] and commands["hostile"] == []  # nothing to pick
    (select,) = tree.find("select")
    assert [o.attrs["value"] for o in descendants(select)] == ["all", "cat"]
    assert {c.attrs["data-entry"]: c.attrs["data-group"] for c in tree.find("article")}[
        "hostile"
    ] == "hostile"


def test_an_unreadable_picks_file_is_said_and_shows_no_pick(finished_output: Output) -> None:
    picks_path(finished_output.manifest).write_text("picks: [not, a, mapping]\n")
    tree = written(finished_output)

    notes = [n.text for n in tree.all if "world-note" in classes(n)]
    assert any(
        note.startswith("No pick is shown: ") and "campaign.picks.yaml" in note for note in notes
    )
    assert not [n for n in tree.all if "picked" in classes(n)]


def with_groups(output: Output, takes: dict[str, tuple[str, int]]) -> Output:
    entries = []
    for entry in output.manifest.entries:
        group, take = takes.get(entry.id, (None, None))
        entries.append(replace(entry, group=group, take=take))
    return Output(output.layout, replace(output.manifest, entries=tuple(entries)), output.store)
