"""Errors of the widget API, with the HTTP status and socket close code each maps to."""

from __future__ import annotations


class ChatError(Exception):
    """Refused: ``code`` is for the widget, ``detail`` for a developer reading the response."""

    def __init__(
        self, code: str, detail: str, *, status: int = 400, retry_after: int | None = None, **extra
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.extra = extra

    def as_dict(self) -> dict:
        data = {"error": self.code, "detail": self.detail, **self.extra}
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data


# WebSocket close codes (4000-4999 are the application's): the HTTP status + 4000.
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_UNKNOWN_ENDPOINT = 4404
CLOSE_RATE_LIMITED = 4429
CLOSE_TOO_BIG = 1009  # RFC 6455: message too big
