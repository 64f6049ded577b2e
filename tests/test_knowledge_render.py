"""Rendering answers and placeholders: the channel's variant, the language fallback, the
allow-listed sandbox."""

from __future__ import annotations

import pytest

from knowledge.models import Answer
from knowledge.rendering import render_answer, render_placeholders
from tests.factories import ContactFactory, UserFactory
from tests.knowledge_helpers import load_kb

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact():
    from crm.models import Company

    return ContactFactory(
        name="Giulia Rossi",
        company=Company.objects.create(name="Rossi Srl"),
        attributes={"tier": "gold", "nested": {"x": 1}},
    )


def test_placeholders_from_the_allow_list(contact):
    agent = UserFactory(first_name="Marco")
    text, missing = render_placeholders(
        "Ciao {{ contact.first_name }} di {{contact.company}} ({{ contact.attributes.tier }}),"
        " sono {{ agent.first_name }}.",
        contact=contact,
        agent=agent,
    )
    assert text == "Ciao Giulia di Rossi Srl (gold), sono Marco."
    assert missing == []


def test_missing_value_uses_the_fallback_and_is_reported():
    text, missing = render_placeholders('Ciao {{ contact.first_name|default:"cliente" }}!')
    assert text == "Ciao cliente!"
    assert missing == ["contact.first_name"]


@pytest.mark.parametrize(
    "template",
    [
        "{{ contact.identities }}",
        "{{ contact.__class__ }}",
        "{{ contact.attributes.nested }}",
        "{{ settings.SECRET_KEY }}",
        "{{ contact.first_name.__class__.__mro__ }}",
    ],
)
def test_names_outside_the_allow_list_render_nothing(contact, template):
    text, missing = render_placeholders(template, contact=contact)
    assert text == ""
    assert missing  # reported, so the agent sees it


@pytest.mark.parametrize(
    "template",
    ['{% load static %}{% static "x" %}', '{% include "admin/base.html" %}', "{{ a|safe }}"],
)
def test_template_tags_stay_inert_text(contact, template):
    text, _ = render_placeholders(template, contact=contact)
    assert text == template


def test_render_answer_channel_variant_and_language_fallback(contact):
    load_kb(["shipping-cost-italy"])
    answer = Answer.objects.get(key="shipping-cost-italy")
    sms = render_answer(answer, channel="sms", language="it", contact=contact)
    assert sms.text.startswith("La spedizione costa 6,90")
    assert sms.text.endswith(answer.url)  # SMS: the short variant and the link
    email = render_answer(answer, channel="email", language="en")
    assert email.text.startswith("Standard shipping in Italy costs")
    french = render_answer(answer, channel="chat", language="fr")
    assert french.language == "it"


def test_render_answer_placeholder_in_body(contact):
    load_kb(["shipping-cost-italy"])
    answer = Answer.objects.get(key="shipping-cost-italy")
    text = answer.texts.get(language="en")
    text.channel_overrides = {"chat": 'Hi {{ contact.first_name|default:"there" }}, free from 49.'}
    text.save()
    assert render_answer(answer, channel="chat", language="en", contact=contact).text == (
        "Hi Giulia, free from 49."
    )
    anonymous = render_answer(answer, channel="chat", language="en")
    assert anonymous.text == "Hi there, free from 49."
    assert anonymous.missing == ["contact.first_name"]
