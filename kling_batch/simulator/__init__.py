"""A faithful, local stand-in for DashScope's Kling video API, for tests and the no-key demo.

    from kling_batch.simulator import Simulator, SimulatorConfig, Faults, SimulatorServer
    sim = Simulator(SimulatorConfig(render_seconds=0.5, faults=Faults(server_error=0.1)))
    transport = simulator_transport(sim)                  # in-process, base "http://localhost/api/v1"
    with SimulatorServer(sim, port=0) as server: ...      # loopback, server.base_url

It follows the team's API reference (dashscope-kling-api.md): create / query / list / cancel with
their headers, JSON and error codes; 10 running slots with a PENDING queue; UNKNOWN 24 h after
creation; getPolicy and a form-upload host whose oss:// keys serve one model for 48 h; signed
video URLs with Range support, valid 30 days; 429 with Retry-After beyond the request rates; and
seeded faults (see `Faults`). Task times are Beijing wall-clock strings, as the service writes
them. The simulator speaks its own wire strings (`TaskStatus`) and imports nothing of the client.

It is a strict oracle by default: a create field the reference does not list where it is sent
(parameters.multi_shot, the SDK's parameters.ratio) is 400 InvalidParameter naming the field and
where it belongs; `SimulatorConfig.lenient` ignores such fields instead. The fields the vendor's
SDK adds to every create (input.extend_prompt, input.function) are taken. An uploaded file is
checked as the service checks media when a task uses it (a decodable JPEG/PNG without alpha,
300..8000 px a side, aspect 1:2.5..2.5:1, <= 10 MB; an mp4/mov of 3..10 s, 720..2160 px a side,
24..60 fps, <= 200 MB, as far as its boxes tell): a task with a file the service would refuse
ends FAILED with InvalidParameter.DataInspection at once. Every route takes a trailing slash.

A task's video is true to its request: the pixel size its `usage.size` reports (std 720P, pro
1080P, in the 16:9, 9:16 or 1:1 asked for; 16:9 where the service would take the shape from the
input media), a sound track exactly when `audio` was asked for, and a `free` box naming the task.
Every clip lasts 3 s; `usage.duration` stays the billed duration. The clips are committed files
(scripts/make_sample_clip.py); serving them needs no ffmpeg.

What the public documentation leaves open is a mode of `SimulatorConfig`, so a test can pin each
reading: `list_zone` (`ListZone`: the zone of the task list's start_time / end_time digits,
Beijing by default), `storyboard_echo` (`StoryboardEcho`: what orig_prompt holds for a
storyboard sent without input.prompt; left out by default), `retry_after` (whether a 429 carries
Retry-After; it does by default) and `count_invalid_creates` (whether a create the service
refuses spends from the create rate; it does by default).

Simulated time (`Simulator.now()`, `advance()`) starts at the real clock and runs at
`SimulatorConfig.speed`; request rates are measured in real time, since that is the client's pace.

Prompt hooks, for tests that need one entry to behave a certain way (anywhere in input.prompt
or in a storyboard shot's prompt):
    [sim:fail]        the task ends FAILED (InternalError.Algo)
    [sim:moderation]  the task ends FAILED (DataInspectionFailed)
    [sim:slow]        the render takes 5x longer
    [sim:lost]        the first create of this body creates the task, then the answer is lost
                      the way Faults.lost_answer says (default: it never comes)
    [sim:lost-reset]  the same, but the connection is closed without an answer
    [sim:error]       the first create of this body answers 500 or 503 and creates nothing

Test-only endpoints (no key, no faults, not counted): GET /__sim/stats (SimulatorStats as JSON)
and POST /__sim/advance?seconds=N (move simulated time on).
"""

from kling_batch.simulator._config import (
    Faults,
    ListZone,
    LostAnswer,
    SimulatorConfig,
    StoryboardEcho,
)
from kling_batch.simulator._core import Simulator
from kling_batch.simulator._server import SimulatorServer, is_loopback
from kling_batch.simulator._stats import Endpoint, FaultKind, SimulatorStats
from kling_batch.simulator._status import TaskStatus
from kling_batch.simulator._transport import simulator_transport
from kling_batch.simulator._uploads import StoredObject

__all__ = [
    "Endpoint",
    "FaultKind",
    "Faults",
    "ListZone",
    "LostAnswer",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "SimulatorStats",
    "StoredObject",
    "StoryboardEcho",
    "TaskStatus",
    "is_loopback",
    "simulator_transport",
]
