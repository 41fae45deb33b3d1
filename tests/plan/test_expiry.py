"""What DashScope forgets: task ids (24 h), video links (30 days), uploads (48 h).

`plan` and `status` read this machine's clock, so these tests hand the plan a later `now`; the
runs that meet an expiry move the simulator's clock on instead, as the service's would.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from kling_batch.api.types import TaskStatus
from kling_batch.hashing import sha256_file
from kling_batch.manifest import STANDARD_MODEL
from kling_batch.manifest.model import Manifest
from kling_batch.runner.decide import Action
from kling_batch.runner.events import Poll, Submitted
from kling_batch.runner.expiry import (
    DAY,
    HOUR,
    Expiring,
    ExpiryNotice,
    span,
    status_notices,
)
from kling_batch.runner.records import EntryState

from .conftest import LOCAL_FLOWER, Bench, MakeBench, StopAt, at, make_image

ONE = """
    version: 1
    name: batch
    defaults: {mode: std, duration: 3, aspect_ratio: "16:9"}
    shots:
      - {id: sea, prompt: a calm sea}
"""


def notices_at(bench: Bench, manifest: Manifest, now: float) -> tuple[ExpiryNotice, ...]:
    return bench.plan(manifest, now=now).notices


def test_a_task_in_flight_warns_before_its_id_expires_and_after(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(ONE)
    bench.run(manifest, stop=StopAt(at(Submitted)))
    with bench.store(manifest) as store:
        record = store.get("sea")
    assert record is not None and record.submitted_at is not None
    submitted = record.submitted_at

    assert notices_at(bench, manifest, submitted + 1 * HOUR) == ()
    (soon,) = notices_at(bench, manifest, submitted + 21 * HOUR)
    (gone,) = notices_at(bench, manifest, submitted + 25 * HOUR)

    assert (soon.what, soon.subject, soon.expired) == (Expiring.TASK_ID, record.task_id, False)
    assert "3.0 h more" in soon.message and "run before then" in soon.message
    assert gone.expired and "older than 24 h" in gone.message and "expired" in gone.message
    assert gone.expires_at == submitted + 24 * HOUR


def test_a_rendered_video_not_downloaded_warns_before_its_link_expires(bench: Bench) -> None:
    manifest = bench.manifest(ONE)
    bench.run(manifest, stop=StopAt(at(Poll, status=TaskStatus.SUCCEEDED)))
    with bench.store(manifest) as store:
        record = store.get("sea")
    assert record is not None and record.state is EntryState.SUCCEEDED
    fetched = min(t for t in (record.finished_at, record.urls_fetched_at) if t is not None)

    assert notices_at(bench, manifest, fetched + 20 * DAY) == ()
    (soon,) = notices_at(bench, manifest, fetched + 29 * DAY)
    (gone,) = notices_at(bench, manifest, fetched + 31 * DAY)

    assert soon.what is Expiring.VIDEO_URL and not soon.expired
    assert "expires in 24.0 h" in soon.message
    assert gone.expired and "can no longer be fetched" in gone.message


def test_a_done_entry_needs_no_link_and_gets_no_warning(bench: Bench) -> None:
    manifest = bench.manifest(ONE)
    bench.run(manifest)

    assert notices_at(bench, manifest, time.time() + 29.5 * DAY) == ()


def test_an_expired_upload_is_announced_where_the_entry_will_send(bench: Bench) -> None:
    make_image(bench.root / "start.png")
    manifest = bench.manifest(LOCAL_FLOWER)
    bench.run(manifest)
    manifest.path.write_text(manifest.path.read_text().replace("a flower opens", "a rose opens"))
    manifest = bench.reload(manifest)
    with bench.store(manifest) as store:
        upload = store.get_upload(*_upload_key(bench))
    assert upload is not None
    expires = upload.expires_at.timestamp()

    assert notices_at(bench, manifest, expires - 10 * HOUR) == ()
    (later,) = notices_at(bench, manifest, expires - 5 * HOUR)
    (again,) = notices_at(bench, manifest, expires - 1 * HOUR)

    assert later.what is Expiring.UPLOAD and later.subject == "start.png"
    assert "expires in 5.0 h" in later.message
    assert "uploads it again" in again.message and "expires in 1.0 h" in again.message


def test_status_warns_from_the_state_alone(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(ONE)
    bench.run(manifest, stop=StopAt(at(Submitted)))
    with bench.store(manifest) as store:
        record = store.get("sea")
        assert record is not None and record.submitted_at is not None
        later = record.submitted_at + 22 * HOUR
        (notice,) = status_notices(manifest.entry("sea"), record, store.get_upload, later)
    assert notice.what is Expiring.TASK_ID
    assert json.loads(json.dumps(notice.to_json()))["what"] == "task_id"


def test_run_marks_a_task_past_24_hours_expired_with_a_clear_message(make_bench: MakeBench) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(ONE)
    bench.run(manifest, stop=StopAt(at(Submitted)))
    bench.simulator.advance(25 * HOUR)
    # This machine's clock cannot be moved on: the record is aged by as much instead.
    with sqlite3.connect(bench.layout(manifest).state) as db:
        db.execute("UPDATE entries SET submitted_at = submitted_at - ?", (25 * HOUR,))

    summary = bench.run(manifest)

    assert summary is not None and summary.states == {"sea": EntryState.EXPIRED}
    with bench.store(manifest) as store:
        record = store.get("sea")
    assert record is not None and record.error_code == "TaskExpired"
    assert record.task_id is not None and record.task_id in (record.error_message or "")
    assert "24 h" in (record.error_message or "")
    assert "--retry-failed" in (record.error_message or "")
    assert bench.plan(manifest).entries[0].action is Action.LEAVE_FAILED
    assert bench.plan(manifest, retry_failed=True).entries[0].action is Action.RETRY


def test_a_young_task_the_service_does_not_know_is_unknown_not_expired(
    make_bench: MakeBench,
) -> None:
    bench: Bench = make_bench(render_seconds=60)
    manifest = bench.manifest(ONE)
    bench.run(manifest, stop=StopAt(at(Submitted)))
    bench.simulator.advance(25 * HOUR)  # the service forgot it; this machine says minutes ago

    summary = bench.run(manifest)

    assert summary is not None and summary.states == {"sea": EntryState.UNKNOWN}
    with bench.store(manifest) as store:
        record = store.get("sea")
    assert record is not None and record.error_code == "TaskNotFound"
    assert "--resubmit-unknown" in (record.error_message or "")
    assert bench.plan(manifest).entries[0].action is Action.LEAVE_UNKNOWN


def test_run_uploads_an_expired_local_file_again_before_submitting(bench: Bench) -> None:
    make_image(bench.root / "start.png")
    manifest = bench.manifest(LOCAL_FLOWER)
    bench.run(manifest)
    first_url = _sent_url(bench, manifest)
    # 49 hours pass: the service has dropped the upload, and the state's clock says so too.
    bench.simulator.advance(49 * HOUR)
    with bench.store(manifest) as store:
        upload = store.get_upload(*_upload_key(bench))
        assert upload is not None
        store.put_upload(
            dataclasses.replace(upload, expires_at=datetime.now(UTC) - timedelta(hours=1))
        )
    manifest.path.write_text(manifest.path.read_text().replace("a flower opens", "a rose opens"))

    summary = bench.run(bench.reload(manifest))

    assert summary is not None and summary.all_done, summary
    assert bench.simulator.stats().uploads == 2
    assert _sent_url(bench, manifest) != first_url


def test_run_reuses_an_upload_with_time_left(bench: Bench) -> None:
    make_image(bench.root / "start.png")
    manifest = bench.manifest(LOCAL_FLOWER)
    bench.run(manifest)
    first_url = _sent_url(bench, manifest)
    manifest.path.write_text(manifest.path.read_text().replace("a flower opens", "a rose opens"))

    summary = bench.run(bench.reload(manifest))

    assert summary is not None and summary.all_done
    assert bench.simulator.stats().uploads == 1
    assert _sent_url(bench, manifest) == first_url


def test_spans_read_the_way_people_say_them() -> None:
    assert span(40 * 60) == "40 min"
    assert span(5 * HOUR) == "5.0 h"
    assert span(3 * DAY) == "3.0 days"
    assert span(-2 * HOUR) == "2.0 h"


def _upload_key(bench: Bench) -> tuple[str, str]:
    """The upload cache's key of start.png: its content hash and the model it went up for."""
    return sha256_file(bench.root / "start.png"), STANDARD_MODEL


def _sent_url(bench: Bench, manifest: Manifest) -> str:
    request = json.loads(bench.layout(manifest).request_file("flower").read_text())
    url = request["input"]["media"][0]["url"]
    assert url.startswith("oss://")
    return str(url)
