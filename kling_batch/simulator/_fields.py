"""Which fields a create body may hold, and where: the strict reading of the API reference.

A strict simulator refuses a field the reference does not list where it was sent (400
InvalidParameter naming it and, when it is known elsewhere, where it belongs), so that a client
sending storyboard fields under `parameters` learns it at once instead of getting a single shot.
`SimulatorConfig.lenient` mirrors a service that ignores what it does not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kling_batch.simulator._protocol import invalid

TOP_FIELDS = ("model", "input", "parameters")
INPUT_FIELDS = (
    "prompt",
    "negative_prompt",  # [unconfirmed] in the reference: kept, since clients send it
    "media",
    "multi_shot",
    "shot_type",
    "multi_prompt",
    "element_list",
)
# The vendor's Python SDK (dashscope 2.0.2) puts these into `input` of every create, whatever
# the caller asks: a service that refused them could not be used with its own client.
SDK_INPUT_FIELDS = ("extend_prompt", "function")
PARAMETER_FIELDS = ("mode", "aspect_ratio", "duration", "audio", "watermark")
MEDIA_FIELDS = ("type", "url", "keep_original_sound")
SHOT_FIELDS = ("index", "prompt", "duration")
ELEMENT_FIELDS = ("element_id",)

_HOMES = {
    **{name: "input" for name in INPUT_FIELDS},
    **{name: "parameters" for name in PARAMETER_FIELDS},
    "keep_original_sound": "an input.media item of type base or feature",
}
# Names other APIs and the SDK's keyword arguments use for what Kling calls otherwise.
_INSTEAD = {
    "ratio": "parameters.aspect_ratio (16:9, 9:16 or 1:1)",
    "resolution": "parameters.mode (pro: 1080P, std: 720P)",
    "size": "parameters.mode and parameters.aspect_ratio",
    "img_url": "input.media with an item {type: first_frame, url}",
    "first_frame_url": "input.media with an item {type: first_frame, url}",
    "head_frame": "input.media with an item {type: first_frame, url}",
    "last_frame_url": "input.media with an item {type: last_frame, url}",
    "tail_frame": "input.media with an item {type: last_frame, url}",
}


def check_fields(body: dict[str, Any]) -> None:
    """Raise 400 InvalidParameter naming every field the reference does not list where it is."""
    problems = list(_problems(body))
    if problems:
        raise invalid("; ".join(problems))


def _problems(body: dict[str, Any]) -> Iterator[str]:
    yield from _unknown(body, "", TOP_FIELDS)
    data, params = body.get("input"), body.get("parameters")
    if isinstance(data, dict):
        yield from _unknown(data, "input", INPUT_FIELDS, also=SDK_INPUT_FIELDS)
        for name, fields in (
            ("media", MEDIA_FIELDS),
            ("multi_prompt", SHOT_FIELDS),
            ("element_list", ELEMENT_FIELDS),
        ):
            items = data.get(name)
            if isinstance(items, list):
                for number, item in enumerate(items):
                    if isinstance(item, dict):
                        yield from _unknown(item, f"input.{name}[{number}]", fields)
    if isinstance(params, dict):
        yield from _unknown(params, "parameters", PARAMETER_FIELDS)


def _unknown(
    value: dict[str, Any], where: str, known: tuple[str, ...], also: tuple[str, ...] = ()
) -> Iterator[str]:
    for name in value:
        if name in known or name in also:
            continue
        field = f"{where}.{name}" if where else name
        home = _HOMES.get(name)
        if name in _INSTEAD:
            yield f"{field} is not a field of the Kling API: use {_INSTEAD[name]}"
        elif home is not None and home != where:
            yield f"{field} is misplaced: {name} belongs in {home}"
        else:
            shown = where or "the request body"
            yield f"{field} is not a field of {shown}; it takes: {', '.join(known)}"
