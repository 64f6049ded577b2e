from django.urls import include, path

from bench.bareapp.views import bare_inbound, bare_list

urlpatterns = [
    path("bench/bare/inbound/", bare_inbound, name="bench-bare-inbound"),
    path("bench/bare/list/", bare_list, name="bench-bare-list"),
    path("", include("config.urls")),
]
