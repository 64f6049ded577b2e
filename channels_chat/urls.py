from django.urls import path

from channels_chat import views

app_name = "channels_chat"

urlpatterns = [
    path("demo/", views.demo, name="demo"),
    path("api/session/", views.session, name="session"),
    path("api/sync/", views.sync, name="sync"),
    path("api/send/", views.send, name="send"),
    path("api/upload/", views.upload, name="upload"),
    path("api/typing/", views.typing, name="typing"),
    path("api/seen/", views.seen, name="seen"),
    path("api/pageview/", views.page_view, name="pageview"),
    path("api/pageview/leave/", views.page_leave, name="pageview-leave"),
    path("api/greeting/", views.greeting_shown, name="greeting"),
    path("api/details/", views.details, name="details"),
    path("api/verify/", views.verify, name="verify"),
    path("api/verify/send/", views.verify_send, name="verify-send"),
    path("files/<str:token>/<str:name>", views.file, name="file"),
]
