"""The public unsubscribe page, and the dashboard's collections pages under /collections/."""

from django.urls import path

from arbridge.collections import editor, views

app_name = "collections"

urlpatterns = [
    path("reminders/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("collections/", views.worklist, name="worklist"),
    path("collections/customers/<int:customer_id>/", views.customer, name="customer"),
    path("collections/customers/<int:customer_id>/notes/", views.add_note, name="add_note"),
    path("collections/customers/<int:customer_id>/send/", views.send_now, name="send_now"),
    path("collections/customers/<int:customer_id>/pause/", views.pause, name="pause"),
    path("collections/customers/<int:customer_id>/resume/", views.resume, name="resume"),
    path(
        "collections/customers/<int:customer_id>/sequence/",
        views.choose_sequence,
        name="choose_sequence",
    ),
    path("collections/sequences/", editor.sequences, name="sequences"),
    path("collections/sequences/new/", editor.create_sequence, name="create_sequence"),
    path("collections/sequences/<int:sequence_id>/", editor.sequence, name="sequence"),
    path(
        "collections/sequences/<int:sequence_id>/default/",
        editor.make_default,
        name="make_default",
    ),
    path(
        "collections/sequences/<int:sequence_id>/delete/",
        editor.delete_sequence,
        name="delete_sequence",
    ),
    path("collections/sequences/<int:sequence_id>/steps/", editor.add_step, name="add_step"),
    path("collections/steps/<int:step_id>/", editor.step, name="step"),
    path("collections/steps/<int:step_id>/delete/", editor.delete_step, name="delete_step"),
    path("collections/settings/", editor.collections_settings, name="settings"),
]
