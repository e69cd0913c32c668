"""Shared setup: an owner, a teammate and an outsider (alice, bob and charlie).

alice owns partner "Acme IT"; bob is a finance teammate there; charlie owns
"Other MSP" and must never see Acme's rows.
"""

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from huey.contrib.djhuey import HUEY

from arbridge.core.models import Membership, Partner

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def immediate_jobs():
    """Run Huey tasks inline; the consumer tests start a real consumer instead."""
    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture(autouse=True)
def empty_cache():
    """Start each test with an empty cache: rolled-back rows may come back with the same ids."""
    cache.clear()


@pytest.fixture(autouse=True)
def unspent_rate_limits():
    """Start each test with every vendor limit unspent.

    In-process limiters are new per test; Redis ones would carry one test's
    requests into the next, whose sandbox reuses the same tenant names.
    """
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        if keys := list(client.scan_iter("arbridge:ratelimit:*")):
            client.delete(*keys)


@pytest.fixture
def partner(db) -> Partner:
    return Partner.objects.create(name="Acme IT", support_email="billing@acme.example")


@pytest.fixture
def other_partner(db) -> Partner:
    return Partner.objects.create(name="Other MSP")


@pytest.fixture
def alice(partner) -> User:
    user = User.objects.create_user("alice", "alice@acme.example", PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def bob(partner) -> User:
    user = User.objects.create_user("bob", "bob@acme.example", PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.FINANCE)
    return user


@pytest.fixture
def charlie(other_partner) -> User:
    user = User.objects.create_user("charlie", "charlie@other.example", PASSWORD)
    Membership.objects.create(user=user, partner=other_partner, role=Membership.Role.OWNER)
    return user
