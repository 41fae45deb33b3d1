"""The account's gate in front of every API request: its key and its standing."""

from __future__ import annotations

import hmac

from kling_batch.simulator._config import SimulatorConfig
from kling_batch.simulator._protocol import ApiError, SimRequest


def authorize(request: SimRequest, config: SimulatorConfig) -> None:
    """Raise the service's error for a missing or wrong key, or an account in arrears."""
    scheme, _, key = (request.header("authorization") or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "InvalidApiKey", "No API-key provided.")
    expected = config.api_key
    if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")
    if config.arrearage:
        # 400, although the account and not the request is at fault: clients decide by code.
        raise ApiError(
            400,
            "Arrearage",
            "Access denied, please make sure your account is in good standing.",
        )
