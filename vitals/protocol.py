"""The watch protocol, version 1 (docs/protocol.md): message shapes, limits and close codes. Pure.

Every message is a JSON object with a "type". The watch sends `samples`, `ping` and `answer`
(reserved for the check-in, issue 4); the server sends `hello`, `ack`, `error`, `throttle`, `pong`,
and server-initiated messages (`checkin`, `instruction`) on the same socket.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1
SUBPROTOCOL = "pulsera.v1"
TOKEN_SUBPROTOCOL_PREFIX = "pulsera.device."  # for clients that cannot set headers


class CloseCode:
    """Why the server closed the socket (4000-4999 are the application's)."""

    TOKEN_MISSING = 4401
    TOKEN_INVALID = 4403
    TOKEN_REVOKED = 4410
    REPLACED = 4409  # the same device connected again; this older socket is closed
    SERVER_RESTART = 1012  # standard "service restart": reconnect with backoff


class ErrorCode:
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    FRAME_TOO_LARGE = "frame_too_large"
    STORAGE_UNAVAILABLE = "storage_unavailable"  # nothing was stored: resend later


@dataclass(frozen=True)
class Limits:
    max_frame_bytes: int
    max_samples: int
    samples_per_second: float  # sustained, per device
    burst_samples: int  # a reconnecting watch may send this many at once

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_frame_bytes": self.max_frame_bytes,
            "max_samples_per_frame": self.max_samples,
            "samples_per_second": self.samples_per_second,
            "burst_samples": self.burst_samples,
        }


class FrameError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def frame_parse(text: str | None, *, max_bytes: int) -> dict[str, Any]:
    """Decode one text frame into a JSON object, or raise FrameError with a code and a reason."""
    if text is None:
        raise FrameError(ErrorCode.NOT_AN_OBJECT, "Send text frames containing JSON objects.")
    size = len(text.encode()) if len(text) * 4 > max_bytes else len(text)
    if size > max_bytes:
        raise FrameError(ErrorCode.FRAME_TOO_LARGE, f"Frames are at most {max_bytes} bytes; this one has {size}.")
    try:
        message = json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise FrameError(ErrorCode.INVALID_JSON, f"Not valid JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise FrameError(ErrorCode.NOT_AN_OBJECT, 'A frame is a JSON object with a "type".')
    return message


def frame_id(message: dict[str, Any]) -> str | int | None:
    """The client's id for a frame, echoed in the answer so it can match acks to its buffer."""
    value = message.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or (isinstance(value, str) and len(value) > 64):
        return None
    return value


def hello(*, device_id: int, wearer_id: int, limits: Limits) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "device_id": device_id,
        "wearer_id": wearer_id,
        "limits": limits.to_dict(),
    }


def ack(id_: str | int | None, result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ack", "id": id_, **result}


def error(id_: str | int | None, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": id_, "code": code, "message": message}


def throttle(id_: str | int | None, *, retry_after_ms: int, reason: str) -> dict[str, Any]:
    """Nothing of this frame was stored: keep it buffered and resend after `retry_after_ms`."""
    return {"type": "throttle", "id": id_, "retry_after_ms": retry_after_ms, "reason": reason}


class TokenBucket:
    """Per-device rate limit in samples per second, with a burst for backlog uploads. Pure."""

    def __init__(self, *, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, count: int, *, now: float) -> float:
        """Take `count` tokens if available and return 0; otherwise take none and return the seconds
        to wait until they would be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if count <= self.tokens:
            self.tokens -= count
            return 0.0
        if count > self.burst:
            return math.inf
        return (count - self.tokens) / self.rate
