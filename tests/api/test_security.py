"""The key stays hidden and only travels over https (or to loopback)."""

from __future__ import annotations

import pickle

import pytest

from kling_batch.api import (
    ApiKey,
    InsecureUrlError,
    MissingApiKey,
    api_key_from_env,
    is_loopback_host,
    require_secure_url,
)

SECRET = "sk-test-Zq8v1Secret"


def test_the_key_comes_from_the_environment_only() -> None:
    key = api_key_from_env({"DASHSCOPE_API_KEY": f"  {SECRET}\n"})
    assert key.reveal() == SECRET


@pytest.mark.parametrize("env", [{}, {"DASHSCOPE_API_KEY": ""}, {"DASHSCOPE_API_KEY": "   "}])
def test_a_missing_key_is_a_clear_error(env: dict[str, str]) -> None:
    with pytest.raises(MissingApiKey, match="DASHSCOPE_API_KEY"):
        api_key_from_env(env)


def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it() -> None:
    with pytest.raises(MissingApiKey) as caught:
        ApiKey("sk-abc\r\nX-Evil: 1")
    assert "sk-abc" not in str(caught.value)


def test_reprs_mask_the_key_and_pickling_is_refused() -> None:
    key = ApiKey(SECRET)
    assert SECRET not in repr(key)
    assert SECRET not in str(key)
    assert SECRET not in f"{key}"
    assert SECRET not in repr([key])
    with pytest.raises(TypeError):
        pickle.dumps(key)


@pytest.mark.parametrize(
    "url",
    [
        "https://dashscope.aliyuncs.com/api/v1",
        "http://127.0.0.1:8765/api/v1",
        "http://127.1.2.3/x",
        "http://[::1]:80/api/v1",
        "http://localhost:9000",
    ],
)
def test_https_or_loopback_is_accepted(url: str) -> None:
    assert require_secure_url(url).startswith(("http", "https"))


@pytest.mark.parametrize(
    "url",
    [
        "http://dashscope.aliyuncs.com/api/v1",
        "http://10.0.0.5/api",
        "http://127.0.0.1.example.com/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "dashscope.aliyuncs.com",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(InsecureUrlError):
        require_secure_url(url)


def test_loopback_hosts() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("example.com")
