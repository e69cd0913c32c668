"""`arbridge createpartner`: a partner, its owner's login and, on request, an API key."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from arbridge.core.models import ApiKey, Membership, Partner
from tests.conftest import PASSWORD


def createpartner(*args: str) -> dict[str, str]:
    """Run the command and return its printed lines as {label: value}."""
    out = StringIO()
    call_command("createpartner", *args, stdout=out)
    return dict(re.match(r"([^:]+): (.*)", line).groups() for line in out.getvalue().splitlines())


def test_it_creates_a_partner_whose_owner_logs_in_with_the_printed_password(db):
    printed = createpartner("Contoso IT", "--owner", "dana", "--email", "dana@contoso.example")

    assert printed["Partner"] == "Contoso IT (contoso-it)"
    username, password = printed["Login"].split(" ")
    user = authenticate(username=username, password=password)
    assert user is not None
    assert user.email == "dana@contoso.example"
    membership = Membership.objects.get(user=user)
    assert membership.partner.name == "Contoso IT"
    assert membership.role == Membership.Role.OWNER
    assert "API key" not in printed


def test_it_prints_an_api_key_for_the_new_partner(db):
    printed = createpartner("Contoso IT", "--owner", "dana", "--api-key")

    key = ApiKey.objects.authenticate(printed["API key"])
    assert key.partner == Partner.objects.get(slug="contoso-it")
    # The first key sets the partner up (webhook endpoints, say): it may write.
    assert key.can_write


def test_a_given_password_is_used_and_not_printed(db):
    printed = createpartner("Contoso IT", "--owner", "dana", "--password", "plum-tree-lantern")

    assert "plum-tree-lantern" not in printed["Login"]
    assert authenticate(username="dana", password="plum-tree-lantern") is not None


def test_it_refuses_a_weak_password_and_creates_nothing(db):
    with pytest.raises(CommandError, match="too short"):
        createpartner("Contoso IT", "--owner", "dana", "--password", "abc")

    assert not Partner.objects.exists()


def test_it_refuses_a_slug_already_taken(partner):
    with pytest.raises(CommandError, match="acme-it"):
        createpartner("Acme IT", "--owner", "dana")

    assert Partner.objects.count() == 1


def test_an_existing_user_becomes_owner_and_keeps_their_password(alice):
    printed = createpartner("Acme Cloud", "--owner", "alice")

    assert PASSWORD not in printed["Login"]
    assert authenticate(username="alice", password=PASSWORD) == alice
    assert set(alice.memberships.values_list("partner__name", flat=True)) == {
        "Acme IT",
        "Acme Cloud",
    }
