from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from crm.models import Company, Contact, Identity
from hub.inbound import InboundMessage
from hub.models import Channel, Conversation, Endpoint, Message, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw-agent-123")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    name = factory.Sequence(lambda n: f"Endpoint {n}")
    channel = Channel.API
    address = factory.Sequence(lambda n: f"source-{n}")
    team = factory.SubFactory(TeamFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    contact = factory.SubFactory(ContactFactory)
    kind = Identity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")


SENDER_KIND = {
    Channel.EMAIL: Identity.Kind.EMAIL,
    Channel.SMS: Identity.Kind.PHONE,
    Channel.WHATSAPP: Identity.Kind.WHATSAPP,
    Channel.CHAT: Identity.Kind.CHAT_VISITOR,
    Channel.API: Identity.Kind.API,
}


def inbound(endpoint: Endpoint, sender: str = "customer-1", **kwargs) -> InboundMessage:
    kwargs.setdefault("text", "Hello, I have a question.")
    return InboundMessage(
        endpoint=endpoint,
        sender_kind=kwargs.pop("sender_kind", SENDER_KIND[endpoint.channel]),
        sender_address=sender,
        **kwargs,
    )


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation made directly (no ingest): for tests that need many rows in given states."""

    class Meta:
        model = Conversation

    contact = factory.SubFactory(ContactFactory)
    endpoint = factory.SubFactory(EndpointFactory)
    channel = factory.LazyAttribute(lambda o: o.endpoint.channel)
    team = factory.LazyAttribute(lambda o: o.endpoint.team)


class MessageFactory(factory.django.DjangoModelFactory):
    """An inbound message stored directly on a conversation (no ingest)."""

    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    direction = Message.Direction.INBOUND
    kind = Message.Kind.MESSAGE
    channel = factory.LazyAttribute(lambda o: o.conversation.channel)
    endpoint = factory.LazyAttribute(lambda o: o.conversation.endpoint)
    text = factory.Sequence(lambda n: f"Message {n}")
    delivery_status = Message.DeliveryStatus.RECEIVED
