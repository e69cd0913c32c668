from django.urls import reverse

from tests.conftest import PASSWORD


def test_it_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.get(reverse("dashboard:invoices"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/invoices/"


def test_it_signs_in_through_the_form(client, alice):
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "/invoices/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/invoices/"
    page = client.get("/invoices/").content.decode()
    assert "Acme IT" in page


def test_it_refuses_a_wrong_password(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_signs_out(client, alice):
    client.force_login(alice)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_a_user_without_a_partner_is_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("dora", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert "not a member of any partner" in response.content.decode()
