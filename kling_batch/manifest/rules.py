"""The rules a manifest must follow beyond its shape: one small function per rule, one code each.

Each rule reads one normalised entry (plus where it was written, and facts about local files)
and yields `Finding`s: the field at fault and a message that says what would be valid. The
checker turns them into located diagnostics with the rule's code and severity. Codes are
stable: `validate --format json` output, docs/manifest.md and editors depend on them.

KB2xx: combinations of fields, KB3xx: local media files. The facts behind them live in
`capabilities`. A rule that goes is not replaced under its code: a retired code is never given
to another rule (docs/manifest.md lists the retired ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from kling_batch.manifest import capabilities as cap
from kling_batch.manifest.diagnostics import Severity
from kling_batch.manifest.media_files import MediaInspector, VideoStream
from kling_batch.manifest.model import STANDARD_MODEL, Entry, EntryKind, Media, MediaType
from kling_batch.manifest.nodes import FieldPath
from kling_batch.manifest.normalize import EntrySource, Located

IMAGE_TYPES = (MediaType.FIRST_FRAME, MediaType.LAST_FRAME, MediaType.REFER)
VIDEO_TYPES = (MediaType.FEATURE, MediaType.BASE)


@dataclass(frozen=True)
class Finding:
    at: FieldPath  # the field at fault, e.g. ("media", 1, "type"); () for the entry itself
    message: str


@dataclass(frozen=True)
class Subject:
    """What a rule looks at: an entry, where it was written, and the files it uses."""

    entry: Entry
    source: EntrySource
    inputs: cap.Inputs | None  # the media combination; None when the service refuses it
    files: MediaInspector

    @property
    def omni(self) -> bool:
        return self.entry.model != STANDARD_MODEL

    def written(self, field: str) -> bool:
        """Whether the entry sets `field` itself (not through defaults or derivation)."""
        return field in self.source.node.fields


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    check: Callable[[Subject], Iterator[Finding]]
    local_files: bool = False  # only about local media files: skipped for entries without any

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or "").strip().splitlines()[0]


ENTRY_RULES: list[Rule] = []


def rule(
    code: str, severity: Severity = Severity.ERROR
) -> Callable[[Callable[[Subject], Iterator[Finding]]], Callable[[Subject], Iterator[Finding]]]:
    def register(
        check: Callable[[Subject], Iterator[Finding]],
    ) -> Callable[[Subject], Iterator[Finding]]:
        ENTRY_RULES.append(Rule(code, severity, check, local_files=code.startswith("KB3")))
        return check

    return register


def subject(located: Located, files: MediaInspector) -> Subject:
    entry = located.entry
    return Subject(entry, located.source, cap.classify(m.type for m in entry.media), files)


# --- models and media combinations -------------------------------------------------------------


@rule("KB201")
def media_type_needs_omni(s: Subject) -> Iterator[Finding]:
    """refer, feature and base media need the omni model."""
    if s.omni or s.inputs is None:
        return
    for index, media in enumerate(s.entry.media):
        if media.type in (MediaType.REFER, MediaType.FEATURE, MediaType.BASE):
            yield Finding(
                ("media", index, "type"),
                f"{media.type} media needs the omni model: add `model: omni` "
                "(the standard model takes first_frame and last_frame only)",
            )


@rule("KB202")
def media_combination(s: Subject) -> Iterator[Finding]:
    """The media types must form a combination the service accepts."""
    if s.inputs is not None:
        return
    written = " + ".join(_counted(s.entry.media)) or "none"
    yield Finding(
        ("media",),
        f"{written} is not a combination the service accepts; valid: {cap.VALID_COMBINATIONS}",
    )


@rule("KB203")
def reference_limit(s: Subject) -> Iterator[Finding]:
    """refer images + elements stay within 7, or 4 with a feature or base video."""
    limit = s.inputs.reference_limit if s.inputs else None
    refer = sum(1 for m in s.entry.media if m.type is MediaType.REFER)
    elements = len(s.entry.element_ids)
    if limit is None or refer + elements <= limit:
        return
    at: FieldPath = ("element_list",) if elements else ("media",)
    yield Finding(
        at,
        f"{refer} refer image{_s(refer)} + {elements} element{_s(elements)} = {refer + elements}; "
        f"with {s.inputs.name if s.inputs else 'these inputs'} at most {limit} are allowed",
    )


@rule("KB204")
def element_limit(s: Subject) -> Iterator[Finding]:
    """At most 3 elements with a first frame."""
    limit = s.inputs.element_limit if s.inputs else None
    count = len(s.entry.element_ids)
    if limit is not None and count > limit:
        yield Finding(
            ("element_list",),
            f"{count} elements; with a first frame at most {limit} are allowed",
        )


# --- parameters ----------------------------------------------------------------------------------


@rule("KB206")
def duration_range(s: Subject) -> Iterator[Finding]:
    """duration is 3 to 15 s, 3 to 10 s with a base or feature video."""
    duration = s.entry.duration
    if duration is None:
        return
    video = s.inputs is not None and s.inputs.has_video
    high = cap.DURATION_MAX_WITH_VIDEO if video else cap.DURATION_MAX
    if cap.DURATION_MIN <= duration <= high:
        return
    derived = s.entry.kind is EntryKind.STORYBOARD and not s.written("duration")
    what = f"the shots add up to {duration} s" if derived else f"{duration} s"
    why = " with a base or feature video" if video else ""
    yield Finding(
        ("multi_prompt",) if derived else ("duration",),
        f"{what}; the duration must be {cap.DURATION_MIN} to {high} s{why}",
    )


@rule("KB207")
def audio_with_video(s: Subject) -> Iterator[Finding]:
    """audio must be false with a base or feature video."""
    if s.entry.audio and s.inputs is not None and s.inputs.has_video:
        yield Finding(
            ("audio",),
            "audio must be false with a base or feature video; to keep that video's sound, "
            "set keep_original_sound: true on it",
        )


@rule("KB208")
def aspect_ratio_needed(s: Subject) -> Iterator[Finding]:
    """aspect_ratio is required when no first frame or base video gives the shape."""
    if s.entry.aspect_ratio is None and s.inputs is not None and s.inputs.uses_aspect_ratio:
        yield Finding(
            ("aspect_ratio",),
            f'{s.inputs.name} needs an aspect_ratio: "16:9", "9:16" or "1:1" '
            "(set it on the entry or under defaults)",
        )


@rule("KB209", Severity.WARNING)
def aspect_ratio_ignored(s: Subject) -> Iterator[Finding]:
    """aspect_ratio is not used with a first frame or a base video."""
    inputs = s.inputs
    if s.entry.aspect_ratio is not None and inputs is not None and not inputs.uses_aspect_ratio:
        base = any(m.type is MediaType.BASE for m in s.entry.media)
        yield Finding(
            ("aspect_ratio",),
            f"not used with {inputs.name}: the {'base video' if base else 'first frame'} gives "
            "the shape; remove it (it is still sent, so changing it would render the entry again)",
        )


@rule("KB210")
def keep_original_sound_placement(s: Subject) -> Iterator[Finding]:
    """keep_original_sound belongs on base and feature videos only."""
    for index, media in enumerate(s.entry.media):
        if media.keep_original_sound is not None and not media.type.is_video:
            yield Finding(
                ("media", index, "keep_original_sound"),
                f"keep_original_sound is for base and feature videos, not {media.type}; remove it",
            )


@rule("KB211")
def prompt_needed(s: Subject) -> Iterator[Finding]:
    """A prompt is needed, except by standard first-frame shots and customize storyboards."""
    entry = s.entry
    if entry.prompt is not None:
        return
    if entry.kind is EntryKind.STORYBOARD:
        if entry.shot_type == "intelligence":
            yield Finding(
                ("prompt",), "an intelligence storyboard needs a prompt to cut into shots"
            )
        return
    if s.inputs is cap.TEXT:
        yield Finding(("prompt",), "text-to-video needs a prompt")
    elif s.omni and s.inputs is not None:
        yield Finding(
            ("prompt",),
            f"the omni model needs a prompt for {s.inputs.name}; say what to do with the media, "
            "e.g. <<<image_1>>> walks through the rain",
        )


# --- storyboards -------------------------------------------------------------------------------


@rule("KB212")
def storyboard_shot_type(s: Subject) -> Iterator[Finding]:
    """A storyboard says how it is cut: shot_type customize or intelligence."""
    entry = s.entry
    if entry.kind is EntryKind.STORYBOARD and entry.shot_type is None:
        suggestion = "customize" if entry.multi_prompt else "intelligence"
        yield Finding(
            ("shot_type",),
            f"a storyboard needs a shot_type: customize (shots listed in multi_prompt) or "
            f"intelligence (the model cuts the prompt); here probably `shot_type: {suggestion}`",
        )


@rule("KB213")
def storyboard_shot_list(s: Subject) -> Iterator[Finding]:
    """customize storyboards list their shots in multi_prompt; intelligence ones do not."""
    entry = s.entry
    if entry.shot_type == "customize" and not entry.multi_prompt:
        yield Finding(
            ("multi_prompt",), "a customize storyboard lists 1 to 6 shots in multi_prompt"
        )
    elif entry.shot_type == "intelligence" and entry.multi_prompt:
        yield Finding(
            ("multi_prompt",),
            "an intelligence storyboard cuts its prompt into shots itself; remove multi_prompt, "
            "or use shot_type: customize",
        )


@rule("KB214")
def storyboard_durations(s: Subject) -> Iterator[Finding]:
    """The shots of a customize storyboard last 1 s or more and add up to its duration."""
    entry = s.entry
    if entry.shot_type != "customize" or not entry.multi_prompt or entry.duration is None:
        return
    shots = entry.multi_prompt
    known = [shot.duration for shot in shots if shot.duration is not None]
    if len(known) < len(shots):
        missing = len(shots) - len(known)
        yield Finding(
            ("multi_prompt",),
            f"{entry.duration} s cannot give the {missing} shot{_s(missing)} without a duration "
            f"1 s each after the {sum(known)} s of the others; lengthen the storyboard or "
            "shorten the shots",
        )
        return
    for index, shot in enumerate(shots):
        if shot.duration is not None and shot.duration > entry.duration:
            yield Finding(
                ("multi_prompt", index, "duration"),
                f"{shot.duration} s is longer than the storyboard's {entry.duration} s",
            )
    total = sum(known)
    if total != entry.duration:
        yield Finding(
            ("duration",) if s.written("duration") else ("multi_prompt",),
            f"the shots add up to {total} s but the storyboard lasts {entry.duration} s; make them "
            "equal, or leave out the storyboard's duration to use the sum",
        )


@rule("KB215", Severity.WARNING)
def prompt_ignored(s: Subject) -> Iterator[Finding]:
    """The prompt of a customize storyboard is ignored: its shots have their own."""
    if s.entry.shot_type == "customize" and s.entry.prompt is not None:
        yield Finding(
            ("prompt",),
            "a customize storyboard renders the prompts of its shots and ignores this one; "
            "remove it (it is still sent)",
        )


# --- prompt length -------------------------------------------------------------------------------
# The service cuts a prompt past its limit and renders the rest, without an error: it runs, but
# probably not as written, hence warnings (the schema sets no maxLength on prompts).


@rule("KB224", Severity.WARNING)
def prompt_truncated(s: Subject) -> Iterator[Finding]:
    """A prompt over 2500 characters: the service keeps the first 2500."""
    prompt = s.entry.prompt
    if prompt is None or len(prompt) <= cap.PROMPT_MAX or s.entry.shot_type == "customize":
        return  # a customize storyboard ignores its prompt: KB215 says so
    yield Finding(
        ("prompt",),
        f"the prompt is {len(prompt)} characters long; the service keeps the first "
        f"{cap.PROMPT_MAX} characters and silently drops the rest: shorten it to keep all of it",
    )


@rule("KB225", Severity.WARNING)
def shot_prompt_truncated(s: Subject) -> Iterator[Finding]:
    """A storyboard shot prompt over 512 characters: the service keeps the first 512."""
    for index, shot in enumerate(s.entry.multi_prompt):
        if len(shot.prompt) > cap.SHOT_PROMPT_MAX:
            yield Finding(
                ("multi_prompt", index, "prompt"),
                f"the shot prompt is {len(shot.prompt)} characters long; the service keeps the "
                f"first {cap.SHOT_PROMPT_MAX} characters and drops the rest: shorten it to keep "
                "all of it",
            )


# --- prompt references ---------------------------------------------------------------------------


def _prompts(entry: Entry) -> Iterator[tuple[FieldPath, str]]:
    if entry.prompt is not None:
        yield ("prompt",), entry.prompt
    for index, shot in enumerate(entry.multi_prompt):
        yield ("multi_prompt", index, "prompt"), shot.prompt


@rule("KB216")
def references_exist(s: Subject) -> Iterator[Finding]:
    """<<<image_N>>>, <<<video_N>>> and <<<element_N>>> point at media and elements that exist."""
    entry = s.entry
    if not s.omni:
        return  # the standard model reads them as text: KB218 says so
    available = {
        "image": sum(1 for m in entry.media if m.type in IMAGE_TYPES),
        "video": sum(1 for m in entry.media if m.type in VIDEO_TYPES),
        "element": len(entry.element_ids),
    }
    where = {"image": "images in media", "video": "videos in media", "element": "element_list"}
    for at, text in _prompts(entry):
        if "<<<" not in text:
            continue
        for match in cap.REFERENCE.finditer(text):
            kind, number = match.group(1), int(match.group(2))
            count = available[kind]
            if not 1 <= number <= count:
                have = (
                    f"there are {count} {where[kind]}" if count else f"there are no {where[kind]}"
                )
                valid = f"; use {kind}_1 to {kind}_{count}" if count else ""
                yield Finding(at, f"{match.group()} points at nothing: {have}{valid}")


@rule("KB217", Severity.WARNING)
def reference_syntax(s: Subject) -> Iterator[Finding]:
    """Text in <<< >>> that is not a valid reference is sent as it is."""
    for at, text in _prompts(s.entry):
        if "<<<" not in text:
            continue
        for match in cap.REFERENCE_LIKE.finditer(text):
            if not cap.REFERENCE.fullmatch(match.group()):
                yield Finding(
                    at,
                    f"{match.group()} is not a reference; write <<<image_N>>>, <<<video_N>>> or "
                    "<<<element_N>>> with N from 1",
                )


@rule("KB218", Severity.WARNING)
def references_on_standard(s: Subject) -> Iterator[Finding]:
    """Only the omni model reads <<<...>>> references."""
    if s.omni:
        return
    for at, text in _prompts(s.entry):
        if "<<<" in text and cap.REFERENCE.search(text):
            yield Finding(at, "the standard model reads <<<...>>> as plain text; use model: omni")
            return


# --- media by URL --------------------------------------------------------------------------------

_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v", ".flv", ".wmv"})


@rule("KB219", Severity.WARNING)
def url_looks_right(s: Subject) -> Iterator[Finding]:
    """A media URL whose file name says it is the wrong kind of file."""
    for index, media in enumerate(s.entry.media):
        if media.url is None:
            continue
        suffix = PurePosixPath(urlsplit(media.url).path).suffix.lower()
        if media.type.is_video:
            wrong = suffix in _IMAGE_SUFFIXES or (
                suffix in _VIDEO_SUFFIXES and suffix not in cap.VIDEO_EXTENSIONS
            )
            wanted = "an mp4 or mov video"
        else:
            wrong = suffix in _VIDEO_SUFFIXES or (
                suffix in _IMAGE_SUFFIXES and suffix not in cap.IMAGE_EXTENSIONS
            )
            wanted = "a JPEG or PNG image"
        if wrong:
            yield Finding(
                ("media", index, "url"),
                f"this looks like a {suffix} file, but {media.type} takes {wanted}",
            )


# --- local media files ---------------------------------------------------------------------------


def _local(s: Subject, video: bool) -> Iterator[tuple[int, Media, Path]]:
    """The entry's readable local files of one kind, with their index in media."""
    for index, media in enumerate(s.entry.media):
        path = media.path
        if path is not None and media.type.is_video is video and not s.files.file(path).problem:
            yield index, media, path


@rule("KB301")
def local_file_readable(s: Subject) -> Iterator[Finding]:
    """A local media file exists and can be read."""
    for index, media in enumerate(s.entry.media):
        if media.path is not None:
            problem = s.files.file(media.path).problem
            if problem is not None:
                yield Finding(("media", index, "path"), f"{media.path}: {problem}")


@rule("KB302")
def image_format(s: Subject) -> Iterator[Finding]:
    """Local images are JPEG or PNG."""
    for index, media, path in _local(s, video=False):
        found = s.files.image(path).format
        if found not in cap.IMAGE_FORMATS:
            shown = f"a {found} image" if found else "not an image Pillow can read"
            yield Finding(
                ("media", index, "path"),
                f"{media.type} takes a JPEG or PNG image; this file is {shown}",
            )


@rule("KB303")
def image_alpha(s: Subject) -> Iterator[Finding]:
    """Local images have no transparency (alpha channel)."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format in cap.IMAGE_FORMATS and image.alpha:
            yield Finding(
                ("media", index, "path"),
                "the image has transparency (an alpha channel), which the service refuses; "
                "save it as a JPEG, or as a PNG without alpha",
            )


@rule("KB304")
def image_sides(s: Subject) -> Iterator[Finding]:
    """Local images are 300 to 8000 px on each side."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format not in cap.IMAGE_FORMATS:
            continue
        low, high = cap.IMAGE_SIDE_MIN, cap.IMAGE_SIDE_MAX
        if not (low <= image.width <= high and low <= image.height <= high):
            yield Finding(
                ("media", index, "path"),
                f"the image is {image.width}x{image.height} px; each side must be {low} to "
                f"{high} px",
            )


@rule("KB305")
def image_aspect(s: Subject) -> Iterator[Finding]:
    """Local images have an aspect ratio between 1:2.5 and 2.5:1."""
    for index, _, path in _local(s, video=False):
        image = s.files.image(path)
        if image.format not in cap.IMAGE_FORMATS or not image.width or not image.height:
            continue
        ratio = max(image.width, image.height) / min(image.width, image.height)
        if ratio > cap.IMAGE_RATIO_MAX:
            yield Finding(
                ("media", index, "path"),
                f"the image is {image.width}x{image.height} px, {ratio:.2f}:1; the aspect ratio "
                "must be between 1:2.5 and 2.5:1",
            )


@rule("KB306")
def image_bytes(s: Subject) -> Iterator[Finding]:
    """Local images are at most 10 MB."""
    for index, _, path in _local(s, video=False):
        size = s.files.file(path).size
        if size > cap.IMAGE_BYTES_MAX:
            yield Finding(
                ("media", index, "path"),
                f"the image is {_megabytes(size)}; images are limited to "
                f"{_megabytes(cap.IMAGE_BYTES_MAX)}",
            )


@rule("KB307")
def video_container(s: Subject) -> Iterator[Finding]:
    """Local videos are mp4 or mov files."""
    for index, media, path in _local(s, video=True):
        video = s.files.video(path)
        if path.suffix.lower() not in cap.VIDEO_EXTENSIONS or not video.movie_container:
            yield Finding(
                ("media", index, "path"),
                f"{media.type} takes an mp4 or mov video; this file is not one",
            )
        elif video.probe_error is not None:
            yield Finding(
                ("media", index, "path"), f"the video cannot be read: {video.probe_error}"
            )


@rule("KB308")
def video_bytes(s: Subject) -> Iterator[Finding]:
    """Local videos are at most 100 MB: the service takes 200 MB, its upload 100 MB."""
    for index, _, path in _local(s, video=True):
        size = s.files.file(path).size
        if size > cap.UPLOAD_BYTES_MAX:
            limit = (
                f"videos are limited to {_megabytes(cap.VIDEO_BYTES_MAX)}"
                if size > cap.VIDEO_BYTES_MAX
                else f"local files upload up to {_megabytes(cap.UPLOAD_BYTES_MAX)}; "
                "serve it from a URL instead"
            )
            yield Finding(("media", index, "path"), f"the video is {_megabytes(size)}; {limit}")


def _measured(s: Subject) -> Iterator[tuple[int, VideoStream]]:
    for index, _, path in _local(s, video=True):
        stream = s.files.video(path).stream
        if stream is not None:
            yield index, stream


@rule("KB309")
def video_duration(s: Subject) -> Iterator[Finding]:
    """Local videos last 3 to 10 s."""
    low, high = cap.VIDEO_SECONDS_MIN, cap.VIDEO_SECONDS_MAX
    for index, stream in _measured(s):
        if stream.duration is not None and not low <= stream.duration <= high:
            yield Finding(
                ("media", index, "path"),
                f"the video lasts {stream.duration:.1f} s; it must last {low:g} to {high:g} s",
            )


@rule("KB310")
def video_sides(s: Subject) -> Iterator[Finding]:
    """Local videos are 720 to 2160 px on each side."""
    low, high = cap.VIDEO_SIDE_MIN, cap.VIDEO_SIDE_MAX
    for index, stream in _measured(s):
        if stream.width is None or stream.height is None:
            continue
        if not (low <= stream.width <= high and low <= stream.height <= high):
            yield Finding(
                ("media", index, "path"),
                f"the video is {stream.width}x{stream.height} px; each side must be {low} to "
                f"{high} px",
            )


@rule("KB311")
def video_fps(s: Subject) -> Iterator[Finding]:
    """Local videos run at 24 to 60 frames per second."""
    low, high = cap.VIDEO_FPS_MIN, cap.VIDEO_FPS_MAX
    for index, stream in _measured(s):
        if stream.fps is not None and not low <= stream.fps <= high:
            yield Finding(
                ("media", index, "path"),
                f"the video runs at {stream.fps:g} fps; it must run at {low:g} to {high:g} fps",
            )


@rule("KB312", Severity.WARNING)
def video_measured(s: Subject) -> Iterator[Finding]:
    """A local video could not be measured: no ffprobe (or imageio-ffmpeg) is installed."""
    for index, _, path in _local(s, video=True):
        video = s.files.video(path)
        if video.movie_container and video.stream is None and video.probe_error is None:
            yield Finding(
                ("media", index, "path"),
                "duration, size and frame rate not checked: install ffprobe (FFmpeg) or "
                "imageio-ffmpeg to check them before spending money",
            )


# --- across entries --------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestRule:
    code: str
    severity: Severity
    check: Callable[[Sequence[Located]], Iterator[tuple[Located, Finding]]]


def unique_ids(entries: Sequence[Located]) -> Iterator[tuple[Located, Finding]]:
    """Entry ids are unique across shots and storyboards."""
    first: dict[str, Located] = {}
    for item in entries:
        seen = first.setdefault(item.entry.id, item)
        if seen is not item:
            line = seen.source.position.line
            yield (
                item,
                Finding(
                    ("id",),
                    f"the id {item.entry.id!r} is already used on line {line}; ids name output "
                    "folders and must be unique",
                ),
            )


def ids_differ_beyond_case(entries: Sequence[Located]) -> Iterator[tuple[Located, Finding]]:
    """Entry ids differ by more than letter case: on macOS and Windows they share a folder."""
    first: dict[str, Located] = {}
    for item in entries:
        folded = item.entry.id.casefold()
        seen = first.setdefault(folded, item)
        if seen is not item and seen.entry.id != item.entry.id:
            yield (
                item,
                Finding(
                    ("id",),
                    f"{item.entry.id!r} differs from {seen.entry.id!r} (line "
                    f"{seen.source.position.line}) only in letter case; on macOS and Windows both "
                    "would write to the same folder",
                ),
            )


MANIFEST_RULES = (
    ManifestRule("KB220", Severity.ERROR, unique_ids),
    ManifestRule("KB221", Severity.ERROR, ids_differ_beyond_case),
)


# --- helpers -------------------------------------------------------------------------------------


def _counted(media: Sequence[Media]) -> list[str]:
    counts: dict[str, int] = {}
    for item in media:
        counts[item.type] = counts.get(item.type, 0) + 1
    return [f"{n} {t}" if n > 1 else str(t) for t, n in counts.items()]


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
