"""The inbound serializers build their fields once per class and give every instance copies
(hub.api.serializers.FieldsFromArguments): instances must still be independent of each other."""

from __future__ import annotations

import threading

import pytest

from hub.api.serializers import InboundSenderSerializer, InboundSerializer


def _payload(endpoint_id: int, n: int) -> dict:
    return {
        "endpoint": endpoint_id,
        "sender": {"kind": "email", "address": f"Person{n}@Example.COM", "name": f"P {n}"},
        "text": f"message {n}",
        "provider_message_id": f"id-{n}",
        "metadata": {"n": n},
    }


def test_each_instance_has_its_own_bound_fields():
    first, second = InboundSerializer(), InboundSerializer()
    for name in InboundSerializer._declared_fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
        # The class's declared field is never bound by an instance.
        assert getattr(InboundSerializer._declared_fields[name], "parent", None) is None
    sender_first, sender_second = first.fields["sender"], second.fields["sender"]
    assert sender_first.fields["address"] is not sender_second.fields["address"]
    assert sender_first.fields["address"].parent is sender_first
    assert isinstance(sender_first, InboundSenderSerializer)


def test_fields_keep_their_declared_arguments():
    fields = InboundSerializer().fields
    assert fields["text"].max_length == 100_000
    assert fields["text"].required is False and fields["text"].default == ""
    assert fields["endpoint"].channel == "api"
    assert fields["sender"].fields["kind"].choices["email"]


@pytest.mark.django_db
def test_errors_of_one_instance_do_not_leak_into_the_next(api_endpoint):
    bad = InboundSerializer(data={"endpoint": api_endpoint.pk, "sender": {"address": ""}})
    assert not bad.is_valid()
    assert set(bad.errors) == {"sender"}
    assert bad.errors["sender"]["address"][0].code == "blank"
    good = InboundSerializer(data=_payload(api_endpoint.pk, 1))
    assert good.is_valid(), good.errors
    assert good.validated_data["sender"]["address"] == "person1@example.com"
    assert good.validated_data["metadata"] == {"n": 1}


@pytest.mark.django_db(transaction=True)
def test_concurrent_validation_in_threads(api_endpoint):
    """Threads validating at once each get their own data back (the web server's case)."""
    results: dict[int, dict | Exception] = {}
    start = threading.Barrier(8)

    def validate(worker: int) -> None:
        start.wait()
        try:
            for n in range(worker * 100, worker * 100 + 50):
                serializer = InboundSerializer(data=_payload(api_endpoint.pk, n))
                assert serializer.is_valid(), serializer.errors
                data = serializer.validated_data
                assert data["text"] == f"message {n}"
                assert data["sender"]["address"] == f"person{n}@example.com"
                assert data["metadata"] == {"n": n}
            results[worker] = {"ok": True}
        except Exception as exc:  # reported below with the worker's number
            results[worker] = exc

    threads = [threading.Thread(target=validate, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {w: {"ok": True} for w in range(8)}
