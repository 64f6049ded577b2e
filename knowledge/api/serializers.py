from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from hub.api.serializers import validate_json_object
from hub.models import Channel
from knowledge import services
from knowledge.importing import FORMATS
from knowledge.models import KINDS, Answer, AnswerText, validate_short
from knowledge.services import AnswerData


class AnswerTextSerializer(serializers.ModelSerializer):
    language = serializers.RegexField(r"^[a-z]{2}(?:-[A-Za-z]{2,4})?$", max_length=12)
    short = serializers.CharField(
        required=False, allow_blank=True, default="", validators=[validate_short]
    )
    channel_overrides = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )

    class Meta:
        model = AnswerText
        fields = ["language", "title", "body", "short", "channel_overrides"]

    def validate_channel_overrides(self, value):
        return validate_json_object(value, "Channel overrides")  # no NUL, even in keys


class AnswerSerializer(serializers.ModelSerializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=KINDS), required=False, default=list
    )
    topics = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    actions = serializers.DictField(required=False, default=dict)
    texts = AnswerTextSerializer(many=True)
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Answer
        fields = [
            "id",
            "key",
            "status",
            "kinds",
            "topics",
            "url",
            "is_canned",
            "actions",
            "review_by",
            "owner",
            "texts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]
        extra_kwargs = {"key": {"validators": []}}  # uniqueness: by key, update in place

    def validate_actions(self, value):
        return validate_json_object(value, "Actions")  # no NUL (PostgreSQL jsonb refuses it)

    def validate_texts(self, value):
        if not value:
            raise serializers.ValidationError("At least one language is required.")
        languages = [t["language"] for t in value]
        if len(set(languages)) != len(languages):
            raise serializers.ValidationError("One text per language.")
        return value

    def validate_key(self, value):
        if self.instance is not None and value != self.instance.key:
            raise serializers.ValidationError("The key of an answer does not change.")
        if self.instance is None and Answer.objects.filter(key=value).exists():
            raise serializers.ValidationError("An answer with this key exists.")
        return value

    def _save(self, data: dict, instance: Answer | None) -> Answer:
        base = services.answer_data(instance) if instance is not None else None
        texts = data.get("texts")
        answer_data = AnswerData(
            key=instance.key if instance is not None else data["key"],
            texts={t["language"]: {k: v for k, v in t.items() if k != "language"} for t in texts}
            if texts is not None
            else base.texts,
            **{
                name: data.get(name, getattr(base, name) if base else default)
                for name, default in (
                    ("status", Answer.Status.DRAFT),
                    ("kinds", []),
                    ("topics", []),
                    ("url", ""),
                    ("is_canned", False),
                    ("actions", {}),
                    ("review_by", None),
                )
            },
        )
        try:
            answer, _ = services.save_answer(answer_data, by=self.context["request"].user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                getattr(exc, "message_dict", {"texts": exc.messages})
            ) from exc
        return Answer.objects.prefetch_related("texts").get(pk=answer.pk)

    def create(self, validated_data):
        return self._save(validated_data, None)

    def update(self, instance, validated_data):
        return self._save(validated_data, instance)


CHANNELS = [c.value for c in Channel]


class FindInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)
    channel = serializers.ChoiceField(choices=CHANNELS)
    language = serializers.RegexField(r"^[a-z]{2}$", required=False, allow_blank=True)
    contact = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    conversation = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class FoundAnswerSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(allow_blank=True)


class FoundQuestionSerializer(serializers.Serializer):
    text = serializers.CharField()
    kind = serializers.CharField()


class AlternativeSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    confidence = serializers.FloatField()


class FindResultSerializer(serializers.Serializer):
    answer = FoundAnswerSerializer(allow_null=True)
    confidence = serializers.FloatField()
    language = serializers.CharField(allow_blank=True)
    questions = FoundQuestionSerializer(many=True)
    text = serializers.CharField(allow_blank=True)
    missing = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    alternatives = AlternativeSerializer(many=True)


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False)
    format = serializers.ChoiceField(choices=[f for f in FORMATS if f != "md"], default="json")


class ImportErrorSerializer(serializers.Serializer):
    where = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
