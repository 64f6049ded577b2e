"""API errors: service refusals and integrity problems become 4xx with field errors, never 500."""

from __future__ import annotations

from django.db.models import ProtectedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.identities import InvalidIdentity
from crm.services import IdentityTaken
from hub.adapters import OutboundRefused
from hub.db_errors import is_transient
from hub.services.errors import ServiceError


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        body["code"] = exc.code
        code = status.HTTP_409_CONFLICT if exc.code == "conflict" else status.HTTP_400_BAD_REQUEST
        return Response(body, status=code)
    if isinstance(exc, OutboundRefused):
        return Response(
            {"detail": exc.reason, "code": exc.code}, status=status.HTTP_422_UNPROCESSABLE_ENTITY
        )
    if isinstance(exc, InvalidIdentity):
        return Response({"value": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IdentityTaken):
        return Response(
            {"value": [str(exc)], "code": "identity_taken"}, status=status.HTTP_409_CONFLICT
        )
    if is_transient(exc):
        # Two transactions locked the same rows in opposite orders (or a serialization
        # failure): this one was rolled back, nothing was stored; the client retries.
        response = Response(
            {"detail": "The database is busy; retry.", "code": "try_again"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, ProtectedError):
        return Response(
            {
                "detail": "This object is still referenced (e.g. by conversations).",
                "code": "protected",
            },
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
