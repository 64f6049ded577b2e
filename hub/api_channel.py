"""The built-in ``api`` channel: integrators post inbound messages through the REST API, and the
hub delivers replies to the URL configured on the endpoint, signed like every outgoing webhook.

Endpoint settings: ``delivery_url`` (where replies are POSTed) and ``signing_secret``. Without a
``delivery_url`` replies go to the local outbox, where the admin shows them.
"""

from __future__ import annotations

import requests
from django.conf import settings

from hub import adapters
from hub.models import Channel, Message
from hub.payloads import message_payload
from hub.services import webhooks
from hub.services.outbox import record_local_delivery


class ApiChannelAdapter(adapters.ChannelAdapter):
    channel = Channel.API
    capabilities = adapters.Capabilities(
        max_text_length=settings.HUB["MAX_MESSAGE_CHARS"],
        supports_html=True,
        supports_media=True,
        threads_by_contact=True,
    )

    def send(self, message: Message) -> adapters.SendResult:
        endpoint = message.endpoint
        recipient = message.recipient_identity.value if message.recipient_identity else ""
        body = {
            "type": "message.outbound",
            "idempotency_key": str(message.idempotency_key),
            "recipient": recipient,
            "message": message_payload(message),
        }
        url = endpoint.settings.get("delivery_url")
        if not url:
            record_local_delivery(
                message, channel=self.channel, recipient=recipient, body=message.text, payload=body
            )
            return adapters.SendResult(provider_message_id=f"local-{message.pk}")
        raw = webhooks.encode_body(body)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(message.idempotency_key),
            "X-Hub-Event": "message.outbound",
        }
        secret = endpoint.settings.get("signing_secret")
        if secret:
            headers[webhooks.SIGNATURE_HEADER] = webhooks.sign(secret, raw)
        try:
            response = requests.post(
                url,
                data=raw,
                headers=headers,
                timeout=settings.HUB["WEBHOOK_TIMEOUT"],
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise adapters.DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise adapters.DeliveryError(f"HTTP {response.status_code} from {url}")
        if response.status_code >= 400:
            raise adapters.DeliveryError(f"HTTP {response.status_code} from {url}", permanent=True)
        return adapters.SendResult(provider_message_id=_remote_id(response), delivered=True)


def _remote_id(response: requests.Response) -> str:
    """The ``id`` of the integrator's JSON answer, if it gave one (a string or a number). The
    message is delivered either way; the id is only kept for reference (not unique)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return ""
    try:
        answer = response.json()
    except ValueError:
        return ""
    remote_id = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(remote_id, bool) or not isinstance(remote_id, str | int):
        return ""
    return str(remote_id)


adapters.register(ApiChannelAdapter())
