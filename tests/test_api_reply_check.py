import pytest
from rest_framework.test import APIClient

from hub.services import ingest
from tests.factories import inbound

pytestmark = pytest.mark.django_db


def test_reply_check_reports_the_channel_rules_without_storing(agent, endpoint_for):
    conversation = ingest(inbound(endpoint_for("sms"), "+393471234567")).conversation
    client = APIClient()
    client.force_authenticate(agent)
    url = f"/api/v1/conversations/{conversation.pk}/reply-check/"
    ok = client.post(url, {"text": "Ciao!"}, format="json")
    assert ok.status_code == 200 and ok.json()["allowed"] is True
    too_long = client.post(url, {"text": "x" * 1601}, format="json")
    assert too_long.status_code == 200
    assert too_long.json()["allowed"] is False and too_long.json()["code"] == "too_long"
    assert conversation.messages.filter(direction="out").count() == 0
