"""The visitor token: who a widget is, signed by the hub.

A token is ``django.core.signing`` output (HMAC with ``SECRET_KEY``, its own salt) carrying the
endpoint's id and a random visitor id; the visitor id is the value of the visitor's
``chat_visitor`` identity. The widget keeps it (localStorage of the page's origin), so a reload or
a visit tomorrow is the same visitor and continues the same conversation. It carries no rights
beyond that visitor's own conversation, and expires after ``TOKEN_MAX_AGE_DAYS``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.core import signing

from channels_chat.conf import setting

SALT = "channels_chat.visitor-token.v1"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class VisitorToken:
    endpoint_id: int
    visitor_id: str
    issued_at: float

    @property
    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.issued_at)


def new_visitor_id() -> str:
    return "v" + secrets.token_urlsafe(18)


def issue(endpoint_id: int, visitor_id: str | None = None) -> str:
    payload = {"e": endpoint_id, "v": visitor_id or new_visitor_id(), "t": int(time.time())}
    return signing.dumps(payload, salt=SALT, compress=False)


def max_age_seconds() -> int:
    return int(setting("TOKEN_MAX_AGE_DAYS")) * 86400


def read(token: object) -> VisitorToken:
    """The token's content, or ``InvalidToken`` (forged, expired, malformed)."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise InvalidToken("missing or malformed token")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_seconds())
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise InvalidToken(str(exc)) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("e"), int)
        or not isinstance(data.get("v"), str)
        or not 8 <= len(data["v"]) <= 64
    ):
        raise InvalidToken("malformed token")
    return VisitorToken(int(data["e"]), data["v"], float(data.get("t") or 0))


def needs_refresh(token: VisitorToken) -> bool:
    """Re-issue (same visitor) past half the lifetime: an active visitor never expires."""
    return token.age_seconds > max_age_seconds() / 2
