from django.urls import path

from inbox import claim_views, consent_views, views, views_understanding

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("preferences/", views.preferences, name="preferences"),
    path("row/<int:pk>/", views.conversation_row, name="row"),
    path("c/<int:pk>/", views.conversation_detail, name="conversation"),
    path("c/<int:pk>/header/", views.conversation_header, name="header"),
    path("c/<int:pk>/timeline/", views.timeline, name="timeline"),
    path("c/<int:pk>/check/", views.reply_check, name="check"),
    path("c/<int:pk>/compose/", views.compose, name="compose"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("c/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("c/<int:pk>/pending/", views.pending, name="pending"),
    path("c/<int:pk>/snooze/", views.snooze, name="snooze"),
    path("c/<int:pk>/handoff/", views.handoff, name="handoff"),
    path("c/<int:pk>/merge/", views.merge, name="merge"),
    path("c/<int:pk>/request-email/", views.request_email, name="request-email"),
    path("c/<int:pk>/opt-out/", consent_views.opt_out_decision, name="opt-out"),
    path(
        "c/<int:pk>/claims/<int:claim_id>/send-code/",
        claim_views.send_code,
        name="claim-send-code",
    ),
    path("c/<int:pk>/claims/<int:claim_id>/verify/", claim_views.verify, name="claim-verify"),
    path(
        "c/<int:pk>/contact-language/",
        views_understanding.contact_language,
        name="contact-language",
    ),
]
