"""The REST API's JSON parser: DRF's, with the hub's caps (see ``hub.json_input``) and a size
limit.

DRF reads a JSON body from the request stream, which Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``
does not bound (it bounds ``request.body`` and forms): the same limit is applied here, as 413.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

from hub import json_input


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        size = -1 if limit is None else limit + 1
        raw = b"" if stream is None else stream.read(size)
        if limit is not None and len(raw) > limit:
            raise BodyTooLarge(f"The JSON body is larger than {limit} bytes.")
        try:
            return json_input.loads(raw)
        except json_input.InvalidJson as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
