import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from arbridge.core.models import Membership

SETTINGS = reverse("dashboard:settings")


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#1f4e79").save(buffer, "PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


def branding(**changes) -> dict:
    return {
        "display_name": "Acme IT Services",
        "primary_colour": "#123456",
        "accent_colour": "#abcdef",
        "support_email": "help@acme.example",
        **changes,
    }


def test_an_owner_changes_the_branding(client, alice, partner):
    client.force_login(alice)
    response = client.post(SETTINGS, branding(logo=png()), follow=True)
    assert "Branding saved." in response.content.decode()
    partner.refresh_from_db()
    assert partner.display_name == "Acme IT Services"
    assert partner.primary_colour == "#123456"
    assert partner.accent_colour == "#abcdef"
    assert partner.support_email == "help@acme.example"
    assert partner.logo.name.startswith("logos/")
    # The header takes the partner's colour and name.
    assert "border-top-color: #123456" in response.content.decode()
    assert "Acme IT Services" in response.content.decode()


def test_it_refuses_a_bad_colour_and_a_non_image(client, alice, partner):
    client.force_login(alice)
    bad_logo = SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")
    response = client.post(SETTINGS, branding(primary_colour="blue", logo=bad_logo))
    page = response.content.decode()
    assert "Enter a colour as #rrggbb." in page
    assert "Upload a valid image." in page
    partner.refresh_from_db()
    assert partner.primary_colour == "#1f4e79"


def test_it_refuses_a_large_logo(client, alice, partner):
    client.force_login(alice)
    big = SimpleUploadedFile("logo.png", png().read() + b"\0" * 1024 * 1024)
    response = client.post(SETTINGS, branding(logo=big))
    assert "The logo must be 1 MB or smaller." in response.content.decode()


def test_settings_are_for_owners_and_admins(client, bob, partner):
    client.force_login(bob)
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, branding()).status_code == 403
    partner.refresh_from_db()
    assert partner.display_name == "Acme IT"
    Membership.objects.filter(user=bob).update(role=Membership.Role.ADMIN)
    assert client.get(SETTINGS).status_code == 200
