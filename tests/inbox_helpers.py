"""Helpers of the agent UI tests (no fixtures: those are in tests/inbox_fixtures.py)."""

from __future__ import annotations

PASSWORD = "pw-agent-123"
HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str = "") -> dict:
    headers = dict(HTMX)
    if target:
        headers["HTTP_HX_TARGET"] = target
    return headers
