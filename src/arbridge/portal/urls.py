"""The portal's URLs under /portal/, and the dashboard's portal-link actions beside the customer."""

from django.urls import path, register_converter

from arbridge.portal import autopay, checkout, manage, views


class LinkToken:
    """A signed link id, `<id>:<signature>`: the colon keeps it apart from every partner's pages."""

    regex = r"[^/:]+:[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LinkToken, "link_token")

app_name = "portal"

checkout_path = "portal/<slug:slug>/checkout/<uuid:key>/"

urlpatterns = [
    # A partner whose slug is "l" has its pages here too: a token has a colon, a page name none.
    path("portal/l/<link_token:token>/", views.open_link, name="open_link"),
    path("portal/<slug:slug>/", views.billing_link, name="billing_link"),
    path("portal/<slug:slug>/logo/", views.logo, name="logo"),
    path("portal/<slug:slug>/sign-out/", views.sign_out, name="sign_out"),
    path("portal/<slug:slug>/invoices/", views.invoices, name="invoices"),
    path("portal/<slug:slug>/invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path(
        "portal/<slug:slug>/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"
    ),
    path("portal/<slug:slug>/pay/", checkout.start, name="start_checkout"),
    path(checkout_path, checkout.choose_method, name="checkout"),
    path(checkout_path + "tokenized/", checkout.tokenized, name="tokenized"),
    path(checkout_path + "review/", checkout.review, name="review"),
    path(checkout_path + "pay/", checkout.pay, name="pay"),
    path(checkout_path + "resume/", checkout.resume, name="resume"),
    path(checkout_path + "status/", checkout.checkout_status, name="checkout_status"),
    path(checkout_path + "receipt/", checkout.receipt, name="receipt"),
    path("portal/<slug:slug>/autopay/", autopay.autopay, name="autopay"),
    path("portal/<slug:slug>/autopay/add/", autopay.add_method, name="autopay_add_method"),
    path("portal/<slug:slug>/autopay/tokenized/", autopay.tokenized, name="autopay_tokenized"),
    path(
        "portal/<slug:slug>/autopay/methods/<int:method_id>/",
        autopay.confirm,
        name="autopay_confirm",
    ),
    path("portal/<slug:slug>/autopay/stop/", autopay.unenroll, name="autopay_unenroll"),
    # The dashboard's side: a customer's portal links, made and revoked by the partner.
    path("customers/<int:customer_id>/portal-links/", manage.create_link, name="create_link"),
    path(
        "customers/<int:customer_id>/portal-links/<int:link_id>/revoke/",
        manage.revoke_link,
        name="revoke_link",
    ),
]
