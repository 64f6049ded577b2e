from django.urls import include, path
from rest_framework.routers import DefaultRouter

from knowledge.api import views

router = DefaultRouter()
router.register("answers", views.AnswerViewSet, basename="knowledge-answer")

urlpatterns = [
    path("answer/", views.FindAnswerView.as_view(), name="knowledge-find"),
    path("import/", views.ImportView.as_view(), name="knowledge-import"),
    path("export/", views.ExportView.as_view(), name="knowledge-export"),
    path("", include(router.urls)),
]
