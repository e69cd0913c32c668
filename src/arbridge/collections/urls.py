from django.urls import path

from arbridge.collections import views

app_name = "collections"

urlpatterns = [
    path("reminders/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
