"""``python manage.py simulate_sms FROM TO TEXT``: post a correctly signed Twilio inbound webhook
to the running hub, so the whole path (signature, ingest, opt-out keywords, replies to the local
outbox) can be tried without a Twilio account."""

from __future__ import annotations

import os
import uuid

import requests
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from twilio.request_validator import RequestValidator

from channels_sms import conf, services
from channels_sms.parsing import WHATSAPP_PREFIX, channel_of, strip_channel_prefix
from channels_sms.segments import count_segments
from channels_sms.signature import configured_url
from hub.models import Endpoint, Message


class Command(BaseCommand):
    help = (
        "Post a signed Twilio incoming-message webhook to the running hub. TO is one of your SMS "
        "or WhatsApp endpoints; prefix numbers with whatsapp: for WhatsApp."
    )

    def add_arguments(self, parser):
        parser.add_argument("sender", metavar="FROM", help="the person's number: +393471234567")
        parser.add_argument("to", metavar="TO", help="the endpoint's number, e.g. +390212345678")
        parser.add_argument("text", metavar="TEXT")
        parser.add_argument(
            "--url",
            help="where to POST (default http://127.0.0.1:$HUB_PORT/channels/sms/twilio/inbound/)",
        )
        parser.add_argument("--name", default="", help="WhatsApp ProfileName of the sender")
        parser.add_argument("--media", action="append", default=[], help="a MediaUrl (repeatable)")
        parser.add_argument("--sid", help="MessageSid (default: a new one; reuse it to retry)")

    def handle(self, *args, **options):
        sender, to, text = options["sender"], options["to"], options["text"]
        whatsapp = WHATSAPP_PREFIX in (sender.lower() + to.lower())
        if whatsapp:
            sender = WHATSAPP_PREFIX + strip_channel_prefix(sender)
            to = WHATSAPP_PREFIX + strip_channel_prefix(to)
        endpoint = services.find_endpoint(to, channel_of(to))
        if endpoint is None:
            known = ", ".join(
                f"{e.channel} {e.address}"
                for e in Endpoint.objects.filter(channel__in=services.SMS_CHANNELS)
            )
            raise CommandError(f"No {channel_of(to)} endpoint for {to}. Known: {known or 'none'}.")
        sid = options["sid"] or f"SM{uuid.uuid4().hex}"
        credentials = conf.twilio_credentials(endpoint)
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": credentials[0] if credentials else f"AC{'0' * 32}",
            "From": sender,
            "To": to,
            "Body": text,
            "NumMedia": str(len(options["media"])),
            "NumSegments": str(max(1, count_segments(text).count)),
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        for index, media_url in enumerate(options["media"]):
            params[f"MediaUrl{index}"] = media_url
            params[f"MediaContentType{index}"] = "application/octet-stream"
        if whatsapp:
            params["WaId"] = strip_channel_prefix(sender).lstrip("+")
            params["ProfileName"] = options["name"]
        path = reverse("channels_sms:twilio-inbound")
        port = os.environ.get("HUB_PORT") or os.environ.get("PORT") or "8000"
        post_url = options["url"] or f"http://127.0.0.1:{port}{path}"
        signed_url = configured_url(endpoint, "inbound", path) or post_url
        signature = RequestValidator(conf.webhook_auth_token(endpoint)).compute_signature(
            signed_url, params
        )
        try:
            response = requests.post(
                post_url, data=params, headers={"X-Twilio-Signature": signature}, timeout=15
            )
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach the hub at {post_url}: {exc}") from exc
        if response.status_code != 200:
            raise CommandError(f"The hub answered {response.status_code}: {response.text[:500]}")
        self.stdout.write(f"{response.status_code} {response.text}")
        stored = Message.objects.filter(endpoint=endpoint, provider_message_id=sid).first()
        if stored is not None:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Stored as message #{stored.pk} in conversation #{stored.conversation_id} "
                    f"(MessageSid {sid})."
                )
            )
        else:
            self.stdout.write(f"Accepted, nothing stored (MessageSid {sid}).")
