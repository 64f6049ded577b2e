"""Replays a captured Anymail inbound request (tests/data/anymail/<esp>/<test>.json) through the
Django test client exactly as it was sent: same path, content type, body or form (files
included), headers and basic-auth credentials. The capture's ``anymail_settings_in_effect`` are
applied with ``override_settings`` by the caller."""

from __future__ import annotations

import base64
import json

from django.core.files.uploadedfile import SimpleUploadedFile


def _bytes(value) -> bytes:
    if isinstance(value, dict) and "__bytes_base64__" in value:
        return base64.b64decode(value["__bytes_base64__"])
    if isinstance(value, dict | list):
        return json.dumps(value).encode("utf-8")
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _form_value(name: str, value):
    if isinstance(value, dict) and value.get("__file__"):
        if "content_base64" in value:
            content = base64.b64decode(value["content_base64"])
        else:
            content = value.get("content_text", "").encode("utf-8")
        upload = SimpleUploadedFile(
            value.get("filename") or name, content, content_type=value.get("content_type") or ""
        )
        if not value.get("content_type"):
            upload.content_type = None
        return upload
    if isinstance(value, list):
        return [_form_value(name, item) for item in value]
    return value


def replay(client, capture: dict):
    headers = {name: str(value) for name, value in (capture.get("headers") or {}).items()}
    extra = dict(capture.get("client_defaults") or {})
    path = capture["anymail_url_path"]
    content_type = capture.get("content_type") or ""
    if "form" in capture and capture["form"] is not None:
        data = {name: _form_value(name, value) for name, value in capture["form"].items()}
        return client.post(path, data=data, headers=headers, **extra)
    body = capture.get("body")
    if body is None and capture.get("body_json") is not None:
        body = json.dumps(capture["body_json"])
    return client.generic(
        "POST", path, data=_bytes(body), content_type=content_type, headers=headers, **extra
    )


def settings_of(capture: dict) -> dict:
    return dict(capture.get("anymail_settings_in_effect") or {})
