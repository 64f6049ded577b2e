"""The understanding layer's results in the API: the OpenAPI shape of a message's ``analysis``
and of a conversation's temperature reasons (the representation itself is the stored dict,
``understanding.Analysis.as_dict()``)."""

from __future__ import annotations

from rest_framework import serializers

from understanding import KINDS, TEMPERATURES


class QuestionSerializer(serializers.Serializer):
    text = serializers.CharField(read_only=True, help_text="The question as found in the message.")
    kind = serializers.ChoiceField(
        choices=KINDS, read_only=True, help_text="The type of answer the person needs."
    )
    confidence = serializers.FloatField(read_only=True)


class AnalysisSerializer(serializers.Serializer):
    language = serializers.CharField(
        read_only=True, help_text="ISO 639-1 code of the visible text; empty when unknown."
    )
    language_confidence = serializers.FloatField(read_only=True)
    questions = QuestionSerializer(many=True, read_only=True)
    temperature = serializers.ChoiceField(choices=TEMPERATURES, read_only=True)
    temperature_confidence = serializers.FloatField(read_only=True)
    signals = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Why: caps, repeated_punctuation, negative_lexicon, threat_legal, deadline, ...",
    )
    version = serializers.CharField(read_only=True, help_text="The analyser's version.")


class TemperatureReasonSerializer(serializers.Serializer):
    code = serializers.CharField(
        read_only=True,
        help_text="message_angry, message_annoyed, message_urgent, threat, unanswered, "
        "long_exchange, ttl_half, ttl_near, ttl_passed, breached_before, reopened",
    )
    points = serializers.IntegerField(read_only=True)
