"""Temporary files over loopback: getPolicy, the form upload, and oss:// URLs in creates."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from .conftest import FRAME

STANDARD = "kling/kling-v3-video-generation"
OMNI = "kling/kling-v3-omni-video-generation"
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}


def first_frame(api, url: str, model: str = STANDARD):
    return api.body(
        "the frame comes alive", model=model, media=[{"type": "first_frame", "url": url}]
    )


@pytest.mark.anyio
async def test_get_policy_answers_every_documented_field(serve, connect) -> None:
    server = serve()
    async with connect(server) as api:
        data = await api.policy(OMNI)
    assert data["upload_host"] == server.origin + "/__oss"
    assert data["expire_in_seconds"] == 300 and data["max_file_size_mb"] == 100
    assert data["x_oss_object_acl"] == "private" and data["x_oss_forbid_overwrite"] == "true"
    assert data["oss_access_key_id"] and data["signature"] and data["upload_dir"]
    document = json.loads(base64.b64decode(data["policy"]))
    assert ["starts-with", "$key", data["upload_dir"]] in document["conditions"]


@pytest.mark.anyio
async def test_get_policy_needs_the_action_and_a_known_model(serve, connect) -> None:
    async with connect(serve()) as api:
        unknown = await api.client.get("/uploads", params={"action": "getPolicy", "model": "x"})
        no_action = await api.client.get("/uploads", params={"model": STANDARD})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ModelNotFound")
    assert (no_action.status_code, no_action.json()["code"]) == (400, "InvalidParameter")


@pytest.mark.anyio
async def test_an_uploaded_file_serves_a_create_for_its_model(serve, connect) -> None:
    server = serve(render_seconds=0.05)
    async with connect(server) as api:
        upload, url = await api.upload(FRAME)
        answer = await api.create(first_frame(api, url), **RESOLVE)
        await api.wait_for(answer.json()["output"]["task_id"], "SUCCEEDED")
    assert upload.status_code == 200 and upload.content == b""
    assert answer.status_code == 200, answer.text
    (stored,) = server.simulator.uploads()
    assert stored.url == url and stored.model == STANDARD
    assert stored.sha256 == hashlib.sha256(FRAME).hexdigest() and stored.size == len(FRAME)
    assert server.simulator.stats().uploads == 1


@pytest.mark.anyio
async def test_an_oss_url_needs_the_resolve_header(serve, connect) -> None:
    async with connect(serve()) as api:
        _, url = await api.upload()
        answer = await api.create(first_frame(api, url))
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert "X-DashScope-OssResourceResolve" in answer.json()["message"]


@pytest.mark.anyio
async def test_an_oss_url_serves_only_the_model_it_was_uploaded_for(serve, connect) -> None:
    async with connect(serve()) as api:
        _, url = await api.upload(model=STANDARD)
        answer = await api.create(first_frame(api, url, model=OMNI), **RESOLVE)
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert STANDARD in answer.json()["message"]


@pytest.mark.anyio
async def test_an_unknown_oss_url_cannot_be_fetched(serve, connect) -> None:
    async with connect(serve()) as api:
        answer = await api.create(first_frame(api, "oss://dashscope-instant/x/y.png"), **RESOLVE)
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter.DataInspection"


@pytest.mark.anyio
async def test_an_oss_url_expires_after_48_hours(serve, connect) -> None:
    server = serve()
    async with connect(server) as api:
        _, url = await api.upload()
        server.simulator.advance(48 * 3600 + 1)
        answer = await api.create(first_frame(api, url), **RESOLVE)
    assert answer.json()["code"] == "InvalidParameter.DataInspection"


@pytest.mark.anyio
async def test_without_success_action_status_oss_answers_204(serve, connect) -> None:
    async with connect(serve()) as api:
        answer, _ = await api.upload(success_action_status="")
    assert answer.status_code == 204


async def _post_form(api, fields: list[tuple[str, str | tuple[str, bytes]]]):
    boundary = "simulator-test-boundary"
    chunks = []
    for name, value in fields:
        if isinstance(value, tuple):
            head = f'name="{name}"; filename="{value[0]}"\r\nContent-Type: image/png'
            data = value[1]
        else:
            head, data = f'name="{name}"', value.encode()
        chunks.append(f"--{boundary}\r\nContent-Disposition: form-data; {head}\r\n\r\n".encode())
        chunks.append(data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return await api.client.post(
        (await api.policy())["upload_host"],
        content=b"".join(chunks),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


@pytest.mark.anyio
async def test_the_file_field_must_come_last(serve, connect) -> None:
    async with connect(serve()) as api:
        policy = await api.policy()
        fields: list[tuple[str, str | tuple[str, bytes]]] = [
            ("OSSAccessKeyId", policy["oss_access_key_id"]),
            ("policy", policy["policy"]),
            ("Signature", policy["signature"]),
            ("file", ("a.png", b"data")),
            ("key", policy["upload_dir"] + "/a.png"),
            ("x-oss-object-acl", "private"),
            ("x-oss-forbid-overwrite", "true"),
        ]
        early = await _post_form(api, fields)
        fields.append(fields.pop(3))
        # a fresh policy: each getPolicy hands out its own upload_dir
        last = await _post_form(api, fields)
    assert early.status_code == 400 and b"<Code>InvalidArgument</Code>" in early.content
    assert last.status_code == 204


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("override", "status", "code"),
    [
        ({"Signature": "AAAA"}, 403, "SignatureDoesNotMatch"),
        ({"policy": "e30="}, 403, "SignatureDoesNotMatch"),
        ({"OSSAccessKeyId": "LTAIother"}, 403, "InvalidAccessKeyId"),
        ({"key": "elsewhere/a.png"}, 403, "AccessDenied"),
    ],
)
async def test_the_upload_host_checks_the_form(serve, connect, override, status, code) -> None:
    server = serve()
    async with connect(server) as api:
        answer, _ = await api.upload(**override)
    assert answer.status_code == status
    assert f"<Code>{code}</Code>".encode() in answer.content
    assert server.simulator.uploads() == ()


@pytest.mark.anyio
async def test_a_policy_expires_after_300_seconds(serve, connect) -> None:
    server = serve()
    async with connect(server) as api:
        policy = await api.policy()
        server.simulator.advance(301)
        answer = await _post_form(
            api,
            [
                ("OSSAccessKeyId", policy["oss_access_key_id"]),
                ("policy", policy["policy"]),
                ("Signature", policy["signature"]),
                ("key", policy["upload_dir"] + "/a.png"),
                ("x-oss-object-acl", "private"),
                ("x-oss-forbid-overwrite", "true"),
                ("file", ("a.png", b"data")),
            ],
        )
    assert answer.status_code == 403 and b"Policy expired" in answer.content


@pytest.mark.anyio
async def test_an_object_is_not_overwritten(serve, connect) -> None:
    async with connect(serve()) as api:
        policy = await api.policy()
        fields: list[tuple[str, str | tuple[str, bytes]]] = [
            ("OSSAccessKeyId", policy["oss_access_key_id"]),
            ("policy", policy["policy"]),
            ("Signature", policy["signature"]),
            ("key", policy["upload_dir"] + "/a.png"),
            ("x-oss-object-acl", "private"),
            ("x-oss-forbid-overwrite", "true"),
            ("file", ("a.png", b"data")),
        ]
        first = await _post_form(api, fields)
        second = await _post_form(api, fields)
    assert first.status_code == 204
    assert second.status_code == 409 and b"FileAlreadyExists" in second.content
