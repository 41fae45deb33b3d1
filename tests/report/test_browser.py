"""The report of a simulated run, opened in headless Chromium: what a reviewer would see.

Every card renders with its poster frame, each video loads and plays; the takes of a group sit
side by side with the pick marked and the command that picks each; input images show as
thumbnails; the contact sheet is linked and loads; the state, model and group filters and the
search work through real clicks and typing; the page makes no request beyond its own folder,
throws nothing, and runs no injected script. A screenshot is kept in tests/artifacts/ for CI
to publish, and checked: the poster area is a picture, not a blank.

Skipped when no Chromium is installed; `.ci/run` installs Debian's `chromium` (and
fonts-noto-cjk, so the Chinese prompt renders).
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from PIL import Image

from kling_batch.api import ApiKey
from kling_batch.batch import run_manifest
from kling_batch.delivery.picks import picks_path, write_picks
from kling_batch.manifest import load
from kling_batch.manifest.model import Manifest
from kling_batch.report import write_report
from kling_batch.runner.artifacts import OutputLayout
from kling_batch.runner.connection import Connection
from kling_batch.runner.options import RunOptions
from kling_batch.runner.state import StateStore
from kling_batch.simulator import Simulator, SimulatorConfig, simulator_transport

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
      - id: mug-take1
        prompt: a red mug on a wooden table, slow dolly in
      - id: moderated
        prompt: "a scene the moderation refuses [sim:moderation]"
      - id: mug-take2
        prompt: a red mug on a wooden table, slow dolly in
      - id: marked
        prompt: a lighthouse at dusk
        watermark: true
      - id: flower
        prompt: the flower opens
        media:
          - {type: first_frame, path: start.png}
      - id: hero-ref
        model: omni
        prompt: a <<<image_1>>> running at night
        media:
          - {type: refer, url: "https://example.com/cat.jpg"}
    storyboards:
      - id: launch-film
        shot_type: customize
        aspect_ratio: "9:16"
        multi_prompt:
          - {prompt: wide shot of a city at dawn, duration: 2}
          - {prompt: close-up of a coffee cup, duration: 2}
"""
# Until the manifest layer gives entries their group (spec §7 `takes: 2`), the two mug entries
# get theirs the way it will: group "mug", takes 1 and 2.
TAKES = {"mug-take1": ("mug", 1), "mug-take2": ("mug", 2)}
DONE = ["cat-moonlight", "hostile", "mug-take1", "mug-take2", "marked", "flower", "hero-ref",
        "launch-film"]  # fmt: skip
# Page order: a group's cards where its first entry stands, side by side.
ALL = ["cat-moonlight", "hostile", "mug-take1", "mug-take2", "moderated", "marked", "flower",
       "hero-ref", "launch-film"]  # fmt: skip


def with_takes(manifest: Manifest) -> Manifest:
    entries = []
    for entry in manifest.entries:
        group, take = TAKES.get(entry.id, (None, None))
        entries.append(replace(entry, group=group, take=take))
    return replace(manifest, entries=tuple(entries))


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium); CI installs it")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of MANIFEST on the in-process simulator, a pick, then its report."""
    root = tmp_path_factory.mktemp("review")
    Image.new("RGB", (640, 360), (200, 120, 40)).save(root / "start.png")
    path = root / "review.yaml"
    path.write_text(textwrap.dedent(MANIFEST).lstrip(), encoding="utf-8")
    manifest = load(path)
    simulator = Simulator(SimulatorConfig(render_seconds=0.3))
    connection = Connection(
        base_url="http://localhost/api/v1",
        api_key=ApiKey("simulated-key"),
        transport=simulator_transport(simulator),
    )
    options = RunOptions(poll_interval=0.05, handle_signals=False)
    summary = anyio.run(run_manifest, manifest, connection, root / "out", options, None)
    assert sorted(k for k, v in summary.states.items() if v == "done") == sorted(DONE)
    write_picks(picks_path(manifest), {"mug": "mug-take2"}, path.name)
    layout = OutputLayout.for_manifest(root / "out", manifest.name)
    store = StateStore(layout.state, readonly=True)
    try:
        return write_report(layout, with_takes(manifest), store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def page(chromium: str, report: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with launch(chromium, tmp_path_factory.mktemp("profile")) as browser:
        page = browser.open_page(report.as_uri())
        # Every picture decoded before anything is measured.
        page.evaluate(
            "Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))"
        )
        yield page


def visible_cards(page: Page) -> list[str]:
    value: list[str] = page.evaluate(
        "Array.from(document.querySelectorAll('.card'))"
        # What is drawn, not what the script meant: a CSS rule could keep a hidden card shown.
        ".filter(c => c.getClientRects().length > 0 && c.getBoundingClientRect().height > 0)"
        ".map(c => c.dataset.entry)"
    )
    return value


def loaded_size(page: Page, url: str) -> list[int]:
    """The natural size of the picture at `url`, loaded as the page loads it (its policy)."""
    size: list[int] = page.evaluate(
        f"new Promise(done => {{ const i = new Image(); i.onload = () => done([i.naturalWidth,"
        f" i.naturalHeight]); i.onerror = () => done([0, 0]); i.src = {url!r}; }})"
    )
    return size


def capture(page: Page, selector: str, height_share: float = 1.0) -> Image.Image:
    box = page.evaluate(
        f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView();"
        " const r = e.getBoundingClientRect();"
        " return {x: r.x + scrollX, y: r.y + scrollY, w: r.width, h: r.height}; })()"
    )
    clip = {"x": box["x"], "y": box["y"], "width": box["w"], "height": box["h"] * height_share}
    shot = page.send("Page.captureScreenshot", {"format": "png", "clip": {**clip, "scale": 1}})
    return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")


def colours(image: Image.Image) -> int:
    return len(image.resize((64, 36)).getcolors(64 * 36) or [])


def test_every_card_renders_in_page_order(page: Page) -> None:
    assert visible_cards(page) == ALL
    shots = page.evaluate(
        "Array.from(document.querySelectorAll('#entry-launch-film .shots .shot'))"
        ".map(shot => shot.textContent)"
    )
    assert shots == ["wide shot of a city at dawn", "close-up of a coffee cup"]
    error = page.evaluate("document.querySelector('#entry-moderated .error').textContent")
    assert error.startswith("DataInspectionFailed")
    step = page.evaluate("document.querySelector('#entry-moderated .next-step').textContent")
    assert "Content moderation refused this render" in step


def test_every_done_card_shows_its_poster_frame_before_anything_plays(
    page: Page, report: Path
) -> None:
    posters: dict[str, str] = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('video'))"
        ".map(v => [v.closest('.card').dataset.entry, v.getAttribute('poster')]))"
    )
    assert sorted(posters) == sorted(DONE)
    for entry_id, poster in posters.items():
        assert poster == f"{entry_id}/poster.jpg"
        assert (report.parent / poster).is_file()
        width, height = loaded_size(page, poster)
        assert max(width, height) == 640, (entry_id, width, height)
    # Nothing is fetched of a video before it is played: a page of many cards stays light.
    assert page.evaluate(
        "Array.from(document.querySelectorAll('video')).every(v => v.readyState === 0)"
    )
    # The player draws the poster: a picture, not the black box of an unloaded video.
    assert colours(capture(page, "#entry-cat-moonlight video", 0.6)) > 20


def test_videos_play(page: Page) -> None:
    played = page.evaluate(
        """Promise.all(Array.from(document.querySelectorAll('video')).map(async v => {
            v.muted = true;
            await v.play();
            await new Promise(done => setTimeout(done, 500));
            v.pause();
            return [v.closest('.card').dataset.entry, v.currentTime, v.videoWidth];
        }))""",
        timeout=30,
    )
    widths = {"launch-film": 720}  # std 9:16; the others std 16:9 (hero-ref too)
    for entry_id, seconds, width in played:
        assert seconds > 0.2, entry_id
        assert width == widths.get(entry_id, 1280), entry_id
    page.evaluate("Array.from(document.querySelectorAll('video')).forEach(v => v.load())")


def test_the_takes_of_a_group_sit_side_by_side_with_the_pick_marked(page: Page) -> None:
    boxes = page.evaluate(
        "Object.fromEntries(['mug-take1', 'mug-take2', 'cat-moonlight'].map(id => {"
        " const r = document.getElementById('entry-' + id).getBoundingClientRect();"
        " return [id, [r.left + scrollX, r.top + scrollY, r.width]]; }))"
    )
    one, two = boxes["mug-take1"], boxes["mug-take2"]
    assert one[1] == two[1] and two[0] >= one[0] + one[2]  # one row, left to right
    assert page.evaluate(
        "Array.from(document.querySelectorAll('section.group[data-group=\"mug\"] .card'))"
        ".map(c => c.dataset.entry)"
    ) == ["mug-take1", "mug-take2"]
    head = page.evaluate("document.querySelector('section.group .group-head').textContent")
    assert head == "mug2 takes · picked: mug-take2"
    badges = page.evaluate(
        "Object.fromEntries(['mug-take1', 'mug-take2'].map(id => [id,"
        " Array.from(document.querySelectorAll('#entry-' + id + ' .badge'))"
        ".map(b => b.textContent)]))"
    )
    assert badges == {
        "mug-take1": ["simulated", "done"],
        "mug-take2": ["simulated", "picked", "done"],
    }
    commands = page.evaluate(
        "Object.fromEntries(['mug-take1', 'mug-take2'].map(id => [id,"
        " document.querySelector('#entry-' + id + ' .pick code').textContent]))"
    )
    assert commands["mug-take1"].startswith("kling-batch pick ")
    assert commands["mug-take1"].split()[3:5] == ["mug-take1", "--output"]
    assert commands["mug-take2"].endswith("--clear mug")
    takes = page.evaluate("Array.from(document.querySelectorAll('.take')).map(t => t.textContent)")
    assert takes == ["take 1", "take 2"]


def test_input_images_show_as_thumbnails(page: Page) -> None:
    thumbnail = page.evaluate(
        "(() => { const i = document.querySelector('#entry-flower .inputs img');"
        " return [i.getAttribute('src'), i.alt, i.naturalWidth]; })()"
    )
    source, alt, width = thumbnail
    assert source.startswith("_thumbnails/") and alt == "first frame: start.png"
    assert width == 320
    assert colours(capture(page, "#entry-flower .inputs img")) >= 1


def test_the_contact_sheet_is_linked_and_loads(page: Page, report: Path) -> None:
    href = page.evaluate("document.querySelector('.sheet a').getAttribute('href')")
    assert href == "contact-sheet.png"
    width, height = loaded_size(page, href)
    with Image.open(report.parent / href) as sheet:
        assert (width, height) == sheet.size
        assert colours(sheet.convert("RGB")) > 20


def test_state_model_and_group_filters(page: Page) -> None:
    page.click("button[data-filter='failed']")
    assert visible_cards(page) == ["moderated"]
    assert page.evaluate("document.getElementById('shown').textContent") == "1"
    # The group's section goes with its cards.
    assert page.evaluate("document.querySelector('section.group').getClientRects().length") == 0

    page.click("button[data-filter='done']")
    assert visible_cards(page) == [e for e in ALL if e in DONE]

    page.click("button[data-model-filter='omni']")
    assert visible_cards(page) == ["hero-ref"]
    page.click("button[data-model-filter='all']")

    page.click("button[data-filter='all']")
    page.evaluate(
        "(() => { const s = document.getElementById('group-filter'); s.value = 'mug';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    assert visible_cards(page) == ["mug-take1", "mug-take2"]
    page.evaluate(
        "(() => { const s = document.getElementById('group-filter'); s.value = 'all';"
        " s.dispatchEvent(new Event('change')); })()"
    )
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


def test_injected_markup_stays_text(page: Page) -> None:
    prompt = page.evaluate("document.querySelector('#entry-hostile .prompt').textContent")

    assert prompt.startswith('<img src=x onerror="window.pwned=1"><script>')
    assert page.evaluate("typeof window.pwned") == "undefined"
    sources = page.evaluate("Array.from(document.images).map(i => i.getAttribute('src'))")
    assert all(source.startswith("_thumbnails/") for source in sources), sources


def test_no_network_no_errors_and_a_screenshot(page: Page) -> None:
    urls = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert urls, "the browser reported no requests at all"
    assert all(url.startswith(("file:", "data:")) for url in urls), urls
    assert page.events("Runtime.exceptionThrown") == []
    errors = [e for e in page.events("Log.entryAdded") if e["entry"]["level"] == "error"]
    assert errors == []  # a blocked inline script, style or picture (CSP) would be logged here

    page.evaluate("scrollTo(0, 0)")
    target = ARTIFACTS / "report.png"
    page.screenshot(target)
    image = Image.open(target).convert("RGB")
    assert image.width == 1280 and image.height > 900
    # Where the first card's poster is drawn, the screenshot holds a picture.
    box = page.evaluate(
        "(() => { const r = document.querySelector('#entry-cat-moonlight video')"
        ".getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height];"
        " })()"
    )
    left, top, width, height = (round(v) for v in box)
    poster = image.crop((left, top, left + width, top + int(height * 0.6)))
    assert colours(poster) > 20, "the screenshot shows no poster frame"
