from __future__ import annotations

import pytest

from crm.identities import InvalidIdentity, normalise
from crm.models import Contact, Identity
from crm.services import IdentityTaken, add_identity, create_contact, resolve_identity


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Mario.Rossi@Example.IT ", "mario.rossi@example.it"),
        ("email", "àlvaro@exämple.com", "àlvaro@exämple.com"),
        ("phone", "+39 347 123 4567", "+393471234567"),
        ("phone", "347 1234567", "+393471234567"),  # default region IT
        ("email", "Anna Bianchi <Anna@Example.com>", "anna@example.com"),
        ("phone", "+1 415-555-2671", "+14155552671"),
        ("whatsapp", "whatsapp:+14155238886", "+14155238886"),
        ("chat_visitor", " v-123 ", "v-123"),
        ("api", "crm:42", "crm:42"),
    ],
)
def test_normalise(kind, raw, expected):
    assert normalise(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("email", "not an email"),
        ("email", "a@b"),
        ("email", ""),
        ("email", "a b@x.com"),
        ("email", "@example.com"),
        ("email", "a@@example.com"),
        ("phone", "hello"),
        ("phone", "+39 12"),
        ("fax", "123"),
        ("api", "x" * 400),
    ],
)
def test_invalid_values_are_refused(kind, raw):
    with pytest.raises(InvalidIdentity):
        normalise(kind, raw)


@pytest.mark.django_db
def test_resolve_identity_is_idempotent_and_fills_the_name():
    first = resolve_identity("email", "Anna@Example.com")
    again = resolve_identity("email", "anna@example.com", display_name="Anna Bianchi")
    assert first.pk == again.pk
    assert Contact.objects.get().name == "Anna Bianchi"


@pytest.mark.django_db
def test_identity_belongs_to_one_contact():
    contact = create_contact(name="Anna", identities=[{"kind": "email", "value": "a@example.com"}])
    other = Contact.objects.create(name="Bea")
    with pytest.raises(IdentityTaken):
        add_identity(other, "email", "A@example.com")
    with pytest.raises(IdentityTaken):
        create_contact(
            name="Eve",
            identities=[
                {"kind": "phone", "value": "+393471234567"},
                {"kind": "email", "value": "a@example.com"},
            ],
        )
    assert Identity.objects.count() == 1 and Contact.objects.count() == 2
    assert add_identity(contact, "email", "a@example.com").contact_id == contact.pk
