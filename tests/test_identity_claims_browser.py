"""The code field of the widget in a real browser (Chromium through Playwright): the visitor gives
a known customer's email in the pre-chat form, nothing is merged, the widget asks for the code
emailed to that address (the local outbox here), and the right code proves it."""

from __future__ import annotations

import re

import pytest

from crm.models import ContactMerge, Identity, IdentityClaim
from hub.models import LocalDelivery
from tests.factories import ContactFactory, EndpointFactory, IdentityFactory, TeamFactory
from tests.live import CHROMIUM_ARGS
from tests.test_chat_browser import _wait_for, hub_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
__all__ = ["hub_server"]


def test_the_widget_asks_for_the_code_and_the_right_one_proves_the_email(
    chromium, hub_server, monkeypatch
):
    from playwright import sync_api

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base, logs = hub_server
    team = TeamFactory()
    EndpointFactory(
        team=team,
        channel="chat",
        address="website",
        name="Website chat",
        settings={"email_continuity": False, "prechat": {"name": "off", "email": "optional"}},
    )
    EndpointFactory(team=team, channel="email", address="help@shop.example")
    anna = ContactFactory(name="Anna Bianchi")
    IdentityFactory(contact=anna, kind="email", value="anna@example.com")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/chat/demo/")
            page.get_by_role("button", name="Chat with us").click()
            page.get_by_label("Your email").fill("anna@example.com")
            box = page.get_by_role("textbox", name="Message", exact=True)
            box.fill("Hi, where is my order?")
            box.press("Enter")
            prompt = page.get_by_text("To confirm anna@example.com is yours")
            sync_api.expect(prompt).to_be_visible(timeout=20_000)
            assert ContactMerge.objects.count() == 0
            assert _wait_for(lambda: LocalDelivery.objects.filter(recipient="anna@example.com"))
            mail = LocalDelivery.objects.get(recipient="anna@example.com")
            code = re.search(r"\b(\d{6})\b", mail.body).group(1)

            field = page.get_by_label("Code")
            field.fill("000000" if code != "000000" else "111111")
            page.get_by_role("button", name="Confirm").click()
            sync_api.expect(page.get_by_text("That code is not right.")).to_be_visible()
            field.fill(code)
            page.get_by_role("button", name="Confirm").click()
            confirmed = page.get_by_text("Thanks, your email is confirmed.")
            sync_api.expect(confirmed).to_be_visible(timeout=20_000)
        finally:
            browser.close()
    assert IdentityClaim.objects.get().verification_method == "code"
    email = Identity.objects.get(value="anna@example.com")
    assert email.contact_id == anna.pk and email.is_verified
    assert ContactMerge.objects.get().kept_id == anna.pk, logs["web"].read_text()[-2000:]
