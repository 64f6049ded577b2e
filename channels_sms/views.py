"""Twilio's webhooks and the signed media URLs Twilio fetches. Thin: signature, then a service.

Every webhook is checked against ``X-Twilio-Signature`` before anything is stored: unsigned or
forged requests get 403. Bad input gets a 400 with the reason (Twilio shows it in its debugger).
"""

from __future__ import annotations

import logging

from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from channels_sms import media, services, signature
from hub.files import file_response
from hub.models import Attachment

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden(
        "Invalid or missing X-Twilio-Signature.", content_type="text/plain; charset=utf-8"
    )


def _bad_request(error: services.InvalidWebhook) -> HttpResponse:
    logger.warning("Twilio webhook refused: %s", error.message)
    return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """An incoming SMS, MMS or WhatsApp message: stored, then an empty TwiML answer (no reply
    from Twilio itself; agents and the bot answer through the hub)."""
    endpoint = services.endpoint_for_inbound(request.POST)
    if not signature.request_is_signed(request, endpoint, "inbound"):
        return _forbidden()
    if endpoint is None:
        return HttpResponseNotFound(
            "No SMS/WhatsApp endpoint for this To number or Messaging Service.",
            content_type="text/plain; charset=utf-8",
        )
    try:
        services.receive_inbound(endpoint, request.POST)
    except services.InvalidWebhook as error:
        return _bad_request(error)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def twilio_status(request):
    """A status callback of a message we sent (our StatusCallback URL names it by its
    idempotency key in ``hub_message``)."""
    key = services.parse_idempotency_key(request.GET.get("hub_message"))
    endpoint = services.endpoint_for_status(request.POST, key)
    if not signature.request_is_signed(request, endpoint, "status"):
        return _forbidden()
    if endpoint is None:
        return HttpResponse(status=204)  # not a message of ours: nothing to update
    try:
        services.apply_status_callback(endpoint, request.POST, idempotency_key=key)
    except services.InvalidWebhook as error:
        return _bad_request(error)
    return HttpResponse(status=204)


@require_safe
def signed_media(request, token: str, filename: str):
    """An outbound attachment for Twilio to fetch (MMS/WhatsApp media), by signed, expiring URL."""
    attachment_id = media.attachment_id_from_token(token)
    attachment = (
        Attachment.objects.filter(pk=attachment_id).first() if attachment_id is not None else None
    )
    if attachment is None:
        raise Http404("Unknown or expired media link.")
    return file_response(attachment, as_attachment=False, cache_control="private, no-store")
