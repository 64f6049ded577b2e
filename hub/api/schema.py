"""The OpenAPI schema says how the API answers errors, not only successes.

drf-spectacular documents an operation's successful responses; the API also answers, as JSON
with a ``detail`` and/or field errors (``hub.api.errors``): 400 (bad input), 401/403 (who may
call), 404 (no such object, or a bad cursor), 409 (a conflict), 413/415 (a body too large or of
another type), 422 (a reply the channel refuses) and 503 (the database busy: retry).
"""

from __future__ import annotations

ERROR = {
    "type": "object",
    "description": "`detail` and `code` for the whole request, or a list of messages per field.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
_DESCRIPTIONS = {
    "400": "Bad input: field errors, or `detail`.",
    "401": "No or wrong credentials.",
    "403": "Not allowed for this user.",
    "404": "No such object (or not visible to this user), or a bad cursor.",
    "409": "Conflict with the current state (`code` says which).",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "422": "The channel refuses this reply (`code` says why).",
    "503": "The database is busy: retry after `Retry-After` seconds.",
}
_WRITES = {"post", "put", "patch", "delete"}


def error_codes(method: str, path: str, has_body: bool) -> list[str]:
    codes = ["400", "401", "403", "404", "503"]
    if method in _WRITES:
        codes.append("409")
    if has_body:
        codes += ["413", "415"]
    if path.endswith("/reply/"):
        codes.append("422")
    return codes


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error responses of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in error_codes(method, path, "requestBody" in operation):
                responses.setdefault(
                    code,
                    {
                        "description": _DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result
