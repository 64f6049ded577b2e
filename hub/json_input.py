"""JSON from outside, read once with the same caps everywhere (the REST API's parser, the chat's
HTTP API and its WebSocket frames).

Python's ``json`` accepts what the hub cannot store or use: nesting deep enough to exhaust the
interpreter's recursion (a 500, or a crash later when the value is copied or written), lone
UTF-16 surrogates such as ``"\\udfff"`` (no UTF-8 encoding exists: PostgreSQL and SQLite refuse
them), and numbers that are not finite (``NaN``, ``Infinity``, ``1e999``). Each is refused here
with :class:`InvalidJson`, before any view sees the value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any payload the hub documents (an inbound message's metadata is a few levels).
MAX_DEPTH = 32

# A JSON escape of a UTF-16 surrogate: only then can a parsed string hold a lone one (UTF-8
# bytes cannot encode a surrogate, and the decoder refuses them).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """The body is not JSON the hub accepts; the message says why, for the client."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"The number {text[:40]} is out of range.")
    return value


def _no_constant(name: str):
    raise InvalidJson(f"{name} is not a JSON number.")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` (UTF-8 bytes or text) as strict JSON: at most ``max_depth`` levels of
    arrays and objects, no lone surrogates, finite numbers only."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError as exc:
        raise InvalidJson(f"JSON nested deeper than {max_depth} levels.") from exc
    except InvalidJson:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidJson(f"Not valid JSON: {exc}") from exc
    check(value, max_depth=max_depth, strings=bool(_SURROGATE_ESCAPE.search(raw)))
    return value


def check(value: Any, *, max_depth: int = MAX_DEPTH, strings: bool = True) -> None:
    """Raise :class:`InvalidJson` if ``value`` (parsed JSON) nests deeper than ``max_depth``
    or (``strings``) holds a lone surrogate in a key or a string. Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise InvalidJson(f"JSON nested deeper than {max_depth} levels.")
            if strings:
                for key in item:
                    _check_string(key)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            if depth >= max_depth:
                raise InvalidJson(f"JSON nested deeper than {max_depth} levels.")
            stack.extend((child, depth + 1) for child in item)
        elif strings and isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if _LONE_SURROGATE.search(text):
        raise InvalidJson("A string holds a lone UTF-16 surrogate (\\ud800-\\udfff): not text.")
