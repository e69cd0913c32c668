from django.urls import path

from arbridge.polling import views

urlpatterns = [
    path("poll/<slug:kind>/", views.service, name="poll_service"),
    path(
        "integrations/<int:connection_id>/setup-file/",
        views.setup_file,
        name="poll_setup_file",
    ),
]
