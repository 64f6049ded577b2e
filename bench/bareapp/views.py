"""The baseline: the least a Django view can do with an inbound body (parse it, insert a row)."""

import json

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.bareapp.models import BareMessage


@csrf_exempt
@require_POST
def bare_inbound(request):
    try:
        body = json.loads(request.body)
        row = BareMessage.objects.create(
            sender=body["sender"]["address"],
            text=body["text"],
            provider_message_id=body["provider_message_id"],
        )
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("bad body")
    return JsonResponse({"id": row.pk}, status=201)


@csrf_exempt
@require_POST
def bare_inbound_form(request):
    """The SMS baseline: read a Twilio-shaped form, insert a row, answer empty TwiML."""
    try:
        BareMessage.objects.create(
            sender=request.POST["From"],
            text=request.POST["Body"],
            provider_message_id=request.POST["MessageSid"],
        )
    except KeyError:
        return HttpResponseBadRequest("bad body")
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
    )


def bare_list(request):
    """The read baseline: the 50 newest rows of the plain table as JSON, no auth, no DRF."""
    rows = list(
        BareMessage.objects.order_by("-id").values(
            "id", "sender", "text", "provider_message_id", "created_at"
        )[:50]
    )
    return JsonResponse({"results": rows})
