"""The report of a simulated run, opened in headless Chromium: what a reviewer would see.

Every card renders, each video loads, shows a frame before it is played and then plays; the
status filters and the search work through real mouse clicks and typing; the page makes no
request beyond its own folder, throws nothing, and runs no injected script. A screenshot is
kept in tests/artifacts/ for CI to publish.

Skipped when no Chromium is installed; `.ci/run` installs Debian's `chromium`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.state import StateStore
from tests.conftest import fast_simulator, run, write_manifest

from .cdp import Page, find_chromium, launch

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

MANIFEST = """
    version: 1
    name: review
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - id: cat-moonlight
        prompt: 一只小猫在月光下奔跑
      - id: hostile
        prompt: >-
          <img src=x onerror="window.pwned=1"><script>window.pwned=2</script> a cat
      - id: moderated
        prompt: "a scene the moderation refuses [sim:moderation]"
      - id: marked
        prompt: a lighthouse at dusk
        watermark: true
    storyboards:
      - id: launch-film
        shot_type: customize
        aspect_ratio: "9:16"
        multi_prompt:
          - {prompt: wide shot of a city at dawn, duration: 2}
          - {prompt: close-up of a coffee cup, duration: 2}
"""
DONE = ["cat-moonlight", "hostile", "marked", "launch-film"]
ALL = ["cat-moonlight", "hostile", "moderated", "marked", "launch-film"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium); CI installs it")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of MANIFEST on the in-process simulator, then its report."""
    root = tmp_path_factory.mktemp("review")
    manifest = write_manifest(root, MANIFEST, "review")
    summary = run(manifest, root / "out", fast_simulator())
    assert summary is not None
    assert sorted(k for k, v in summary.states.items() if v == "done") == sorted(DONE)
    layout = OutputLayout.for_manifest(root / "out", manifest.name)
    store = StateStore(layout.state, readonly=True)
    try:
        return write_report(layout, manifest, store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def page(chromium: str, report: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with launch(chromium, tmp_path_factory.mktemp("profile")) as browser:
        yield browser.open_page(report.as_uri())


def visible_cards(page: Page) -> list[str]:
    value: list[str] = page.evaluate(
        "Array.from(document.querySelectorAll('.card'))"
        # What is drawn, not what the script meant: a CSS rule could keep a hidden card shown.
        ".filter(c => c.getClientRects().length > 0 && c.getBoundingClientRect().height > 0)"
        ".map(c => c.dataset.entry)"
    )
    return value


def test_every_card_renders(page: Page) -> None:
    assert visible_cards(page) == ALL
    headings = page.evaluate(
        "Array.from(document.querySelectorAll('.card h2')).map(h => h.firstChild.textContent)"
    )
    assert headings == ALL
    shots = page.evaluate(
        "Array.from(document.querySelectorAll('#entry-launch-film .shots .shot'))"
        ".map(shot => shot.textContent)"
    )
    assert shots == ["wide shot of a city at dawn", "close-up of a coffee cup"]
    error = page.evaluate("document.querySelector('#entry-moderated .error').textContent")
    assert error.startswith("DataInspectionFailed")


def test_artifact_links_point_at_files_beside_the_report(page: Page, report: Path) -> None:
    links: list[list[str]] = page.evaluate(
        "Array.from(document.querySelectorAll('.artifacts a'))"
        ".map(a => [a.closest('.card').dataset.entry, a.textContent, a.href])"
    )
    names: dict[str, list[str]] = {}
    for entry_id, name, href in links:
        names.setdefault(entry_id, []).append(name)
        assert href == (report.parent / entry_id / name).as_uri()
        assert (report.parent / entry_id / name).is_file()

    assert names["marked"] == [
        "video.mp4",
        "video.watermark.mp4",
        "request.json",
        "task.json",
        "polls.jsonl",
    ]
    assert "video.mp4" not in names["moderated"]


def test_injected_markup_stays_text(page: Page) -> None:
    prompt = page.evaluate("document.querySelector('#entry-hostile .prompt').textContent")

    assert prompt.startswith('<img src=x onerror="window.pwned=1"><script>')
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_videos_show_a_poster_frame_then_play(page: Page) -> None:
    page.evaluate(
        """Promise.all(Array.from(document.querySelectorAll('video')).map(v =>
            v.readyState >= 2 ? true : new Promise((ok, fail) => {
              v.addEventListener('loadeddata', ok, {once: true});
              v.addEventListener('error', () => fail(new Error('cannot load ' + v.src)));
            })))""",
        timeout=30,
    )
    players: list[dict[str, Any]] = page.evaluate(
        "Array.from(document.querySelectorAll('video')).map(v => ({entry:"
        " v.closest('.card').dataset.entry, width: v.videoWidth, at: v.currentTime,"
        " duration: v.duration}))"
    )
    assert sorted(p["entry"] for p in players) == sorted(DONE)
    # The simulator serves each render at its requested size: std 16:9 is 1280 wide, std 9:16
    # (the storyboard) 720.
    widths = {"launch-film": 720}
    for player in players:
        assert player["width"] == widths.get(player["entry"], 1280), player
        assert player["at"] == pytest.approx(0.1, abs=0.05)  # the poster frame's time
        assert player["duration"] > 2
    # The cards show the true shapes: the storyboard's player is portrait, the others wide.
    shapes = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('video')).map(v => {"
        " const r = v.getBoundingClientRect();"
        " return [v.closest('.card').dataset.entry, r.height / r.width]; }))"
    )
    assert shapes["launch-film"] == pytest.approx(16 / 9, rel=0.02)
    assert shapes["cat-moonlight"] == pytest.approx(9 / 16, rel=0.02)

    # Before anything plays, the first player shows a picture, not a black box.
    box = page.evaluate(
        "(() => { const v = document.querySelector('video'); v.scrollIntoView();"
        " const r = v.getBoundingClientRect();"
        " return {x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height}; })()"
    )
    shot = page.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "clip": {
                "x": box["x"],
                "y": box["y"],
                "width": box["w"],
                "height": box["h"] * 0.6,
                "scale": 1,
            },
        },
    )
    frame = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    colours = frame.resize((64, 36)).getcolors(64 * 36) or []
    assert len(colours) > 20, "the player shows no frame before playing"

    played = page.evaluate(
        """Promise.all(Array.from(document.querySelectorAll('video')).map(async v => {
            v.muted = true;
            const start = v.currentTime;
            await v.play();
            await new Promise(done => setTimeout(done, 500));
            v.pause();
            return v.currentTime - start;
        }))""",
        timeout=30,
    )
    assert all(seconds > 0.2 for seconds in played), played


def test_status_filters(page: Page) -> None:
    page.click("button[data-filter='failed']")
    assert visible_cards(page) == ["moderated"]
    assert page.evaluate("document.getElementById('shown').textContent") == "1"

    page.click("button[data-filter='done']")
    assert visible_cards(page) == DONE

    page.click("button[data-filter='all']")
    assert visible_cards(page) == ALL


def test_search_by_id_or_prompt(page: Page) -> None:
    page.type_into("#search", "COFFEE")  # a storyboard shot's prompt, any case
    assert visible_cards(page) == ["launch-film"]

    page.type_into("#search", "marked")  # an id
    assert visible_cards(page) == ["marked"]

    page.type_into("#search", "小猫")
    assert visible_cards(page) == ["cat-moonlight"]

    page.type_into("#search", "no such thing")
    assert visible_cards(page) == []
    assert page.evaluate("!document.getElementById('empty').hidden")

    page.click("button[data-filter='failed']")
    page.type_into("#search", "a")  # filters and search combine
    assert visible_cards(page) == ["moderated"]

    page.click("button[data-filter='all']")
    page.type_into("#search", "")
    assert visible_cards(page) == ALL


def test_no_network_no_errors_and_a_screenshot(page: Page) -> None:
    urls = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert urls, "the browser reported no requests at all"
    assert all(url.startswith(("file:", "data:")) for url in urls), urls
    assert page.events("Runtime.exceptionThrown") == []
    errors = [e for e in page.events("Log.entryAdded") if e["entry"]["level"] == "error"]
    assert errors == []  # a blocked inline script or style (CSP) would be logged here

    target = ARTIFACTS / "report.png"
    page.screenshot(target)
    image = Image.open(target)
    assert image.format == "PNG"
    assert image.width == 1280 and image.height > 600
