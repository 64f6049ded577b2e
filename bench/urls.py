from django.urls import include, path

from bench.bareapp.views import bare_inbound, bare_inbound_form, bare_list

urlpatterns = [
    path("bench/bare/inbound/", bare_inbound, name="bench-bare-inbound"),
    path("bench/bare/list/", bare_list, name="bench-bare-list"),
    path("bench/bare/sms/", bare_inbound_form, name="bench-bare-sms"),
    path("", include("config.urls")),
]
