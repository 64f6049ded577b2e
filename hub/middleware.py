"""A view that meets a transient database error answers 503 "retry", not 500.

A deadlock or serialization failure (``hub.db_errors``) rolled the view's transaction back and
stored nothing: a provider's webhook (Twilio, an ESP's tracking event), an integrator or an agent
retrying succeeds. The REST API maps it in its exception handler (``hub.api.errors``), with the
API's JSON body; this covers every other view.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse

from hub.db_errors import is_transient

logger = logging.getLogger(__name__)


class TransientDatabaseErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_transient(exception):
            return None
        logger.warning("%s %s: %s; answered 503", request.method, request.path, exception)
        response = HttpResponse(
            "The database is busy; retry.", status=503, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = "1"
        return response
