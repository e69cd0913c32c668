"""The Stripe element partial: Stripe's own script, and only a token comes back."""

import re

from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.test import RequestFactory

from arbridge.payments.processors.stripe import StripeProcessor


def render(**context) -> str:
    request = RequestFactory().get("/")
    processor = StripeProcessor({"secret_key": "sk_test_x", "publishable_key": "pk_test_acme"})
    context = {
        "client_config": processor.client_config(),
        "csrf_token": get_token(request),
    } | context
    return render_to_string("payments/tokenize/stripe.html", context, request=request)


def test_it_loads_stripe_js_and_posts_back_a_token():
    html = render(submit_url="/portal/acme/checkout/1/tokenized/", kind="ach")

    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'action="/portal/acme/checkout/1/tokenized/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '"publishable_key": "pk_test_acme"' in html
    assert '<script id="stripe-kind" type="application/json">"ach"</script>' in html
    # The only field arbridge's server receives besides the CSRF token is the token.
    names = set(re.findall(r'name="([^"]+)"', html))
    assert names == {"csrfmiddlewaretoken", "token"}
    assert "sk_test_x" not in html


def test_the_publishable_key_cannot_break_out_of_the_page():
    request = RequestFactory().get("/")
    html = render_to_string(
        "payments/tokenize/stripe.html",
        {
            "client_config": {"kind": "stripe", "publishable_key": "</script><b>x"},
            "submit_url": "/t/",
        },
        request=request,
    )
    assert "</script><b>" not in html
