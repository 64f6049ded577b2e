"""Knowledge API: thin views over knowledge.services, finder, importing and rendering."""

from __future__ import annotations

import json

import django_filters
from django.db.models import Q
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import Contact
from hub import selectors
from knowledge import importing, services
from knowledge.api import serializers as s
from knowledge.models import KINDS, Answer


def can_edit(user) -> bool:
    return bool(user and (user.is_staff or user.has_perm("knowledge.change_answer")))


class CanEditOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or can_edit(request.user)


class AnswerFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Answer.Status.choices)
    kind = django_filters.ChoiceFilter(
        choices=[(k, k) for k in KINDS], method="filter_kind", help_text="A question kind."
    )
    topic = django_filters.CharFilter(method="filter_topic", max_length=100)
    language = django_filters.CharFilter(field_name="texts__language", distinct=True)
    q = django_filters.CharFilter(
        method="search", max_length=200, help_text="Words in the key, a title or a body."
    )

    class Meta:
        model = Answer
        fields = ["status", "kind", "topic", "language", "q", "is_canned"]

    def filter_kind(self, queryset, name, value):
        return queryset.filter(kinds__icontains=f'"{value}"')

    def filter_topic(self, queryset, name, value):
        return queryset.filter(topics__icontains=json.dumps(value))

    def search(self, queryset, name, value):
        match = Q(key__icontains=value)
        for word in value.split()[:8]:
            match |= Q(texts__title__icontains=word) | Q(texts__body__icontains=word)
        return queryset.filter(match).distinct()


class AnswerViewSet(viewsets.ModelViewSet):
    """Answers. Agents read the published ones; staff (or the knowledge.change_answer
    permission) also see drafts and archived answers, and edit."""

    serializer_class = s.AnswerSerializer
    filterset_class = AnswerFilter
    permission_classes = [permissions.IsAuthenticated, CanEditOrReadOnly]

    def get_queryset(self):
        qs = Answer.objects.prefetch_related("texts").order_by("key")
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        if not can_edit(self.request.user):
            qs = qs.filter(status=Answer.Status.PUBLISHED)
        return qs

    def perform_destroy(self, instance):
        services.delete_answer(instance)


class FindAnswerView(APIView):
    """The answer to a customer's message, rendered for the channel, language and person."""

    @extend_schema(request=s.FindInputSerializer, responses=s.FindResultSerializer)
    def post(self, request):
        body = s.FindInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        conversation = contact = None
        if data.get("conversation"):
            conversation = (
                selectors.visible_conversations(request.user)
                .select_related("contact__company", "team__business_hours")
                .filter(pk=data["conversation"])
                .first()
            )
            if conversation is None:
                raise Http404
            contact = conversation.contact
        if data.get("contact"):
            contact = Contact.objects.select_related("company").filter(pk=data["contact"]).first()
            if contact is None:
                raise Http404
        language = data.get("language") or ""
        found = services.find_answers(
            data["text"],
            channel=data["channel"],
            language=language or (contact.language if contact else ""),
        )
        best = found.best
        text, missing, warnings = "", [], []
        if best is not None:
            rendered = services.render_answer(
                best.answer,
                channel=data["channel"],
                language=found.language or "it",
                contact=contact,
                conversation=conversation,
                agent=request.user,
            )
            text, missing, warnings = rendered.text, rendered.missing, rendered.warnings
        alternatives = [c for c in found.candidates if c is not best]

        def title(answer):
            from knowledge.rendering import pick_text

            picked = pick_text(answer, found.language or "it")
            return picked.title if picked else answer.key

        result = {
            "answer": {"key": best.answer.key, "title": title(best.answer), "url": best.answer.url}
            if best
            else None,
            "confidence": found.candidates[0].confidence if found.candidates else 0.0,
            "language": found.language,
            "questions": found.questions,
            "text": text,
            "missing": missing,
            "warnings": warnings,
            "alternatives": [
                {"key": c.answer.key, "title": title(c.answer), "confidence": c.confidence}
                for c in alternatives
            ],
        }
        return Response(s.FindResultSerializer(result).data)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else json.dumps(data)


class ExportView(APIView):
    permission_classes = [permissions.IsAuthenticated, CanEditOrReadOnly]
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): OpenApiTypes.ANY,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request):
        """Every answer in the import format (JSON or CSV)."""
        if not can_edit(request.user):
            return Response({"detail": "Staff only."}, status=status.HTTP_403_FORBIDDEN)
        if request.query_params.get("format") == "csv":
            response = HttpResponse(importing.export_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="knowledge.csv"'
            return response
        return HttpResponse(importing.export_json(), content_type="application/json")


class ImportView(APIView):
    permission_classes = [permissions.IsAdminUser]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "application/json": OpenApiTypes.ANY,
            "multipart/form-data": s.ImportInputSerializer,
        },
        responses={
            200: s.ImportReportSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors of the request."),
        },
    )
    def post(self, request):
        """Import answers, idempotent by key: a JSON list in the body, or a multipart ``file``
        with its ``format`` (json or csv). Bad records are reported, the rest imported."""
        if isinstance(request.data, list):
            report = importing.import_records(
                [(f"item {i}", item) for i, item in enumerate(request.data, 1)], by=request.user
            )
        else:
            form = s.ImportInputSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            upload = form.validated_data.get("file")
            if upload is None:
                return Response(
                    {"file": ["Send a JSON list as the body, or a file."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            try:
                content = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                return Response({"file": ["Not UTF-8."]}, status=status.HTTP_400_BAD_REQUEST)
            report = importing.import_content(
                content, form.validated_data["format"], by=request.user
            )
        return Response(s.ImportReportSerializer(report.as_dict()).data)
