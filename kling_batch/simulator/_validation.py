"""The create request's rules, as the service applies them: a body becomes a `CreateSpec`.

Each failed rule raises the error the service answers (400 InvalidParameter with a message that
names the field and what would be valid, 404 ModelNotFound), following the API reference.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from kling_batch.simulator._fields import check_fields
from kling_batch.simulator._protocol import ApiError, invalid

STANDARD_MODEL = "kling/kling-v3-video-generation"
OMNI_MODEL = "kling/kling-v3-omni-video-generation"
TURBO_MODEL = "kling/kling-v3-turbo-video-generation"


@dataclass(frozen=True)
class ModelFacts:
    """What the service takes from one model: media types, storyboards, elements, sound.

    The simulator is the service, not the client: it keeps its own facts rather than reading the
    client's models table (kling_batch/models.json), so that a wrong table meets a refusal here
    as it would on DashScope. tests/simulator/test_models_table.py holds the two in agreement.
    """

    media: tuple[str, ...]
    storyboards: bool = True
    elements: bool = True
    audio_always: bool = False  # renders (and bills) sound whatever parameters.audio says


# The API reference's "Models"; turbo is unconfirmed there (third-party integrations only).
MODELS = {
    STANDARD_MODEL: ModelFacts(("first_frame", "last_frame")),
    OMNI_MODEL: ModelFacts(("first_frame", "last_frame", "refer", "base", "feature")),
    TURBO_MODEL: ModelFacts(("first_frame",), storyboards=False, elements=False, audio_always=True),
}

# Longer prompts are cut by the service, not refused; the kept text is what orig_prompt echoes.
PROMPT_LIMIT = 2500
SHOT_PROMPT_LIMIT = 512
MAX_SHOTS = 6
MODES = ("pro", "std")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_TYPES = ("first_frame", "last_frame", "refer")
VIDEO_TYPES = ("base", "feature")
MAX_ELEMENTS = 7
_REFERENCE = re.compile(r"<<<(image|video|element)_(\d+)>>>")


@dataclass(frozen=True)
class MediaRef:
    type: str
    url: str

    @property
    def oss_key(self) -> str | None:
        return self.url.removeprefix("oss://") if self.url.startswith("oss://") else None


@dataclass(frozen=True)
class CreateSpec:
    """A create request that passed every rule, reduced to what rendering and billing use."""

    model: str
    prompt: str | None  # input.prompt as the service keeps it: cut at PROMPT_LIMIT
    hook_text: str  # every prompt of the request, where the [sim:...] test hooks are looked for
    media: tuple[MediaRef, ...]
    mode: str
    aspect_ratio: str
    duration: int
    audio: bool
    watermark: bool
    # A customize storyboard's shot prompts in index order, each cut at SHOT_PROMPT_LIMIT;
    # empty for any other request.
    shot_prompts: tuple[str, ...] = ()

    @property
    def oss_keys(self) -> tuple[str, ...]:
        return tuple(key for m in self.media if (key := m.oss_key) is not None)


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid("The request body must be a JSON object with model, input and parameters")
    return value


def validate_create(body: dict[str, Any], *, lenient: bool = False) -> CreateSpec:
    """The spec of a valid create; the service's error otherwise.

    Strict (the default) refuses fields the reference does not list where they were sent;
    `lenient` ignores them, as a service that reads only what it knows would.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("Field required: model. Use one of: " + ", ".join(MODELS))
    if model not in MODELS:
        raise ApiError(404, "ModelNotFound", f"Model not exist: {model!r}.")
    data = _object(body, "input", required=True)
    params = _object(body, "parameters", required=False)
    if not lenient:
        check_fields(body)

    facts = MODELS[model]
    media = _media(data, model)
    kinds = Counter(m.type for m in media)
    has_video = any(kinds[t] for t in VIDEO_TYPES)
    elements = _elements(data)
    if elements and not facts.elements:
        raise invalid(f"input.element_list is not supported by {model}")
    _check_combination(model, kinds, elements)

    mode = _choice(params, "mode", MODES, "pro")
    aspect_ratio = _choice(params, "aspect_ratio", ASPECT_RATIOS, "16:9")
    duration = _duration(params, has_video)
    audio = _flag(params, "audio")
    if audio and has_video:
        raise invalid("parameters.audio must be false when a base or feature video is given")
    audio = audio or facts.audio_always
    watermark = _flag(params, "watermark")

    prompt = data.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise invalid("input.prompt must be a string")
    if data.get("negative_prompt") is not None and not isinstance(data["negative_prompt"], str):
        raise invalid("input.negative_prompt must be a string")
    shots = _storyboard(data, prompt, duration, model)
    if not media and not data.get("multi_shot") and not prompt:
        raise invalid("input.prompt is required for text-to-video (no media given)")
    if prompt and not shots:  # a customize storyboard ignores input.prompt
        _check_references(prompt, media, elements)
    kept = prompt[:PROMPT_LIMIT] if prompt is not None else None
    return CreateSpec(
        model=model,
        prompt=kept,
        shot_prompts=tuple(text[:SHOT_PROMPT_LIMIT] for _, text in sorted(shots)),
        hook_text="\n".join([prompt or "", *(text for _, text in shots)]),
        media=media,
        mode=mode,
        aspect_ratio=aspect_ratio,
        duration=duration,
        audio=audio,
        watermark=watermark,
    )


def _object(body: dict[str, Any], name: str, *, required: bool) -> dict[str, Any]:
    value = body.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Field {name} must be a JSON object" + (" and is required" * required))
    return value


def _media(data: dict[str, Any], model: str) -> tuple[MediaRef, ...]:
    raw = data.get("media")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid("input.media must be a list of {type, url} items")
    items = []
    for number, item in enumerate(raw, start=1):
        where = f"input.media[{number - 1}]"
        if not isinstance(item, dict):
            raise invalid(f"{where} must be an object with type and url")
        kind = item.get("type")
        if kind not in IMAGE_TYPES + VIDEO_TYPES:
            valid = ", ".join(IMAGE_TYPES + VIDEO_TYPES)
            raise invalid(f"{where}.type {kind!r} is not supported; use one of: {valid}")
        if kind not in MODELS[model].media:
            takers = ", ".join(name for name, facts in MODELS.items() if kind in facts.media)
            raise invalid(f"{where}.type {kind!r} is only supported by {takers}")
        url = item.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https", "oss"):
            raise invalid(f"{where}.url must be an http, https or oss:// URL, not {url!r}")
        if (urlsplit(url).hostname or "").endswith(".invalid"):
            # The service fetches media itself; a host that cannot exist stands for one it
            # cannot reach.
            raise invalid(
                f"Failed to download {where}.url {url!r}", "InvalidParameter.DataInspection"
            )
        sound = item.get("keep_original_sound")
        if sound is not None:
            if kind not in VIDEO_TYPES:
                raise invalid(f"{where}.keep_original_sound applies to base or feature videos only")
            if sound not in ("yes", "no"):
                raise invalid(f"{where}.keep_original_sound must be 'yes' or 'no', not {sound!r}")
        items.append(MediaRef(kind, url))
    return tuple(items)


def _elements(data: dict[str, Any]) -> int:
    # Standard and omni take element_list: the reference gives its first-frame limit for both
    # and its standard storyboard example sends `element_list: []`.
    raw = data.get("element_list")
    if raw is None:
        return 0
    if not isinstance(raw, list):
        raise invalid("input.element_list must be a list of {element_id: integer} items")
    for number, item in enumerate(raw):
        element_id = item.get("element_id") if isinstance(item, dict) else None
        if not _is_int(element_id) or element_id <= 0:
            raise invalid(f"input.element_list[{number}] must be {{element_id: positive integer}}")
    return len(raw)


def _check_combination(model: str, kinds: Counter[str], elements: int) -> None:
    present = {kind: count for kind, count in kinds.items() if count}
    shown = " + ".join(f"{count} {kind}" for kind, count in sorted(present.items())) or "none"
    frames = (
        {"first_frame": 1} if "last_frame" not in present else {"first_frame": 1, "last_frame": 1}
    )
    if not present or present == frames:
        cap = 3 if present else MAX_ELEMENTS
        _cap_elements(elements, 0, cap, "first frame / first+last frame" if present else "prompt")
        return
    if not set(MODELS[model].media) & {"refer", *VIDEO_TYPES}:
        valid = (
            "first_frame, or first_frame + last_frame (one each)"
            if "last_frame" in MODELS[model].media
            else "first_frame (one)"
        )
        raise invalid(f"Media combination not supported by {model}: {shown}. Use {valid}")
    refer = present.pop("refer", 0)
    videos = {kind: present.pop(kind) for kind in VIDEO_TYPES if kind in present}
    rest = present  # images other than refer
    if any(count != 1 for count in videos.values()) or len(videos) > 1:
        raise invalid(f"Media combination not supported: {shown}. At most 1 base or feature video")
    if not videos and not rest:
        _cap_elements(elements, refer, MAX_ELEMENTS, "refer")
        return
    if "feature" in videos and not rest:
        _cap_elements(elements, refer, 4 if refer else MAX_ELEMENTS, "feature + refer")
        return
    if "feature" in videos and rest == {"first_frame": 1} and not refer:
        return
    if "base" in videos and not rest:
        _cap_elements(elements, refer, 4 if refer else MAX_ELEMENTS, "base + refer")
        return
    raise invalid(
        f"Media combination not supported by {model}: {shown}. Valid: first_frame (+ last_frame), "
        "refer, feature, feature + refer, feature + first_frame, base, base + refer"
    )


def _cap_elements(elements: int, refer: int, cap: int, what: str) -> None:
    if refer + elements > cap:
        raise invalid(
            f"Too many references for {what}: {refer} refer images + {elements} elements; "
            f"at most {cap} in total"
        )


def _choice(params: dict[str, Any], name: str, valid: tuple[str, ...], default: str) -> str:
    value = params.get(name, default)
    if value not in valid:
        raise invalid(
            f"parameters.{name} {value!r} is not supported; use one of: {', '.join(valid)}"
        )
    return str(value)


def _duration(params: dict[str, Any], has_video: bool) -> int:
    value = params.get("duration", 5)
    top = 10 if has_video else 15
    if not _is_int(value) or not 3 <= value <= top:
        because = " when a base or feature video is given" if has_video else ""
        raise invalid(
            f"parameters.duration must be an integer in [3, {top}]{because}, not {value!r}"
        )
    return int(value)


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise invalid(f"parameters.{name} must be true or false, not {value!r}")
    return value


def _storyboard(
    data: dict[str, Any], prompt: str | None, duration: int, model: str
) -> list[tuple[int, str]]:
    """A customize storyboard's (index, prompt) shots as sent; [] for any other request."""
    multi_shot = data.get("multi_shot", False)
    if not isinstance(multi_shot, bool):
        raise invalid("input.multi_shot must be true or false")
    if not multi_shot:
        return []
    if not MODELS[model].storyboards:
        raise invalid(f"input.multi_shot (storyboards) is not supported by {model}")
    shot_type = data.get("shot_type")
    if shot_type not in ("intelligence", "customize"):
        raise invalid(
            f"input.shot_type is required when multi_shot is true: 'intelligence' or "
            f"'customize', not {shot_type!r}"
        )
    if shot_type == "intelligence":
        if not prompt:
            raise invalid("input.prompt is required when shot_type is 'intelligence'")
        return []
    shots = data.get("multi_prompt")
    if not isinstance(shots, list) or not 1 <= len(shots) <= MAX_SHOTS:
        raise invalid(f"input.multi_prompt must list 1 to {MAX_SHOTS} shots for 'customize'")
    prompts: list[tuple[int, str]] = []
    total = 0
    for number, shot in enumerate(shots):
        where = f"input.multi_prompt[{number}]"
        if not isinstance(shot, dict):
            raise invalid(f"{where} must be an object with index, prompt and duration")
        index, text, seconds = shot.get("index"), shot.get("prompt"), shot.get("duration")
        if not _is_int(index):
            raise invalid(f"{where}.index must be an integer from 1 to {len(shots)}")
        if not isinstance(text, str) or not text:
            raise invalid(f"{where}.prompt is required")
        # A shot prompt over SHOT_PROMPT_LIMIT is cut by the service, not refused.
        if not _is_int(seconds) or not 1 <= seconds <= duration:
            raise invalid(
                f"{where}.duration is required per shot: an integer in [1, {duration}] "
                f"(parameters.duration), not {seconds!r}"
            )
        total += seconds
        prompts.append((index, text))
    indexes = [index for index, _ in prompts]
    if sorted(indexes) != list(range(1, len(shots) + 1)):
        raise invalid(f"input.multi_prompt indexes must be 1 to {len(shots)}, each once: {indexes}")
    if total > duration:
        raise invalid(
            f"input.multi_prompt durations add up to {total} s, more than parameters.duration "
            f"({duration} s)"
        )
    return prompts


def _check_references(prompt: str, media: tuple[MediaRef, ...], elements: int) -> None:
    available = {
        "image": sum(m.type in IMAGE_TYPES for m in media),
        "video": sum(m.type in VIDEO_TYPES for m in media),
        "element": elements,
    }
    for match in _REFERENCE.finditer(prompt):
        kind, number = match.group(1), int(match.group(2))
        if not 1 <= number <= available[kind]:
            raise invalid(
                f"input.prompt refers to {match.group(0)} but the request has "
                f"{available[kind]} {kind}(s)"
            )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
