"""DataGate on the Django side: connect, upload exports through the dashboard, map their columns."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from arbridge.core.models import Connection
from arbridge.integrations.files import imports
from arbridge.integrations.files.models import ColumnMapping, ImportFile
from arbridge.integrations.files.tasks import scan_watched_folders
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Contact, Customer, Invoice
from arbridge.sandbox.datagate.exports import HEADERS, Account, seed
from tests.integrations.qbo.fixtures import take_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def datagate(client, alice, partner, django_capture_on_commit_callbacks) -> Connection:
    """Alice's DataGate connection, connected through the dashboard: nothing to type."""
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/integrations/datagate/connect/", {"role": "secondary"})
    assert response.status_code == 302
    return Connection.objects.get(partner=partner, kind="datagate")


@pytest.fixture
def account() -> Account:
    return seed(customers=3, invoices=6)


def followed(client, response):
    """Return the page a POST redirected to, read once the jobs it asked for have run."""
    assert response.status_code == 302, response.status_code
    return client.get(response.url)


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    def upload(connection: Connection, data: bytes, name: str = "invoices.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/integrations/{connection.pk}/files/",
                {"file": SimpleUploadedFile(name, data, "text/csv")},
            )
        return followed(client, response)

    return upload


@pytest.fixture
def choose_columns(client, django_capture_on_commit_callbacks):
    """Confirm the columns arbridge proposes for a file, as a person would."""

    def choose(response, **changed):
        form = response.context["form"]
        posted = {name: form[name].value() or "" for name in form.fields} | changed
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(response.request["PATH_INFO"], posted)
        return followed(client, response)

    return choose


@pytest.fixture
def mapped(datagate, account, upload, choose_columns):
    """A first export uploaded and its columns confirmed."""
    first = upload(datagate, account.export())
    return choose_columns(first)


def test_connecting_asks_for_nothing_and_offers_the_upload(client, datagate):
    page = client.get(f"/integrations/{datagate.pk}/")

    assert datagate.status == Connection.Status.CONNECTED
    assert f"/integrations/{datagate.pk}/files/" in page.content.decode()


def test_a_first_file_asks_for_its_columns_then_imports_invoices_lines_and_contacts(
    datagate, account, upload, choose_columns
):
    first = upload(datagate, account.export())
    assert first.templates[0].name == "dashboard/imports/columns.html"
    assert first.context["form"]["invoice_number"].value() == "Invoice Number"
    assert not Invoice.objects.exists()

    done = choose_columns(first)

    assert "Imported" in done.content.decode()
    invoice = Invoice.objects.get(number="INV-500001")
    source = account.invoices["INV-500001"]
    assert invoice.total == invoice.balance == source.total
    assert invoice.lines.count() == len(source.lines)
    assert Invoice.objects.count() == 6
    customer = Customer.objects.get(pk=invoice.customer_id)
    assert customer.name == account.customers[source.customer].name
    contact = Contact.objects.get(customer=customer)
    assert (contact.email, contact.is_billing) == (account.customers[source.customer].email, True)


def test_a_file_with_bad_rows_is_refused_with_every_error_and_nothing_imported(
    datagate, account, upload, choose_columns
):
    lines = account.export().decode("utf-8-sig").splitlines()
    lines[2] = lines[2].replace("2026-12-01", "2026-12-41")  # line 3: due date
    lines[5] = lines[5].replace(",Sent,", ",Lost,")  # line 6: status
    bad = "\r\n".join(lines).encode()

    response = choose_columns(upload(datagate, bad))

    page = response.content.decode()
    assert "Refused: nothing imported" in page
    errors = response.context["file"].errors
    assert [line for line, *_ in errors] == [3, 6]
    assert "“2026-12-41” is not a date" in page
    assert "Status “Lost”" in page
    assert not Invoice.objects.exists() and not Customer.objects.exists()
    assert ImportFile.objects.get().status == ImportFile.Status.REFUSED


def test_the_saved_columns_are_used_for_the_next_file(datagate, account, mapped, upload):
    saved = ColumnMapping.of(datagate)
    account.bill(next(iter(account.customers)))

    response = upload(datagate, account.export(), "december.csv")

    assert response.templates[0].name == "dashboard/imports/file.html"
    assert "Imported" in response.content.decode()
    assert Invoice.objects.count() == 7
    assert ColumnMapping.of(datagate) == saved


def test_a_file_with_other_headers_asks_again_and_the_new_choice_is_saved(
    datagate, account, mapped, upload, choose_columns
):
    account.bill(next(iter(account.customers)))
    renamed = account.export().replace(b"Invoice Number", b"Bill Ref", 1)

    asked = upload(datagate, renamed)
    assert asked.templates[0].name == "dashboard/imports/columns.html"
    choose_columns(asked, invoice_number="Bill Ref")

    assert ColumnMapping.of(datagate)["invoice_number"] == "Bill Ref"
    assert Invoice.objects.count() == 7


def test_the_same_file_again_changes_nothing(datagate, account, upload, choose_columns):
    data = account.export()
    choose_columns(upload(datagate, data))
    held = list(ExternalRef.objects.values_list("remote_id", "remote_version", "updated_at"))

    again = upload(datagate, data, "copy of invoices.csv")

    assert "was imported before" in again.content.decode()
    assert ImportFile.objects.count() == 1
    assert (
        list(ExternalRef.objects.values_list("remote_id", "remote_version", "updated_at")) == held
    )


def test_a_later_file_lowers_balances_and_voids(datagate, account, mapped, upload):
    account.pay("INV-500001", Decimal("50.00"))
    account.void("INV-500002")

    upload(datagate, account.export(), "payments.csv")

    paid = Invoice.objects.get(number="INV-500001")
    assert paid.balance == account.invoices["INV-500001"].total - Decimal("50.00")
    assert Invoice.objects.get(number="INV-500002").voided_at is not None
    assert Invoice.objects.get(number="INV-500003").balance == account.invoices["INV-500003"].total


def test_a_payment_taken_in_arbridge_owes_datagate_nothing(datagate, mapped):
    invoice = Invoice.objects.get(number="INV-500001")

    take_payment((invoice, str(invoice.total)))

    assert not OutboundCommand.objects.filter(connection=datagate).exists()


def test_files_placed_in_a_watched_folder_are_imported_or_refused(
    datagate, account, mapped, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.DATA_DIR = tmp_path
    datagate.preferences = {**datagate.preferences, "watch_folder": True}
    datagate.save(update_fields=["preferences"])
    folder = imports.folder(datagate)
    folder.mkdir(parents=True)
    account.bill(next(iter(account.customers)))
    (folder / "good.csv").write_bytes(account.export())
    (folder / "bad.csv").write_bytes((",".join(HEADERS) + "\r\nINV-9,not a date\r\n").encode())

    with django_capture_on_commit_callbacks(execute=True):
        scan_watched_folders.call_local()

    assert Invoice.objects.count() == 7
    refused = ImportFile.objects.get(name="bad.csv")
    assert refused.status == ImportFile.Status.REFUSED and refused.errors


def test_another_partner_sees_none_of_it(client, charlie, datagate, mapped, upload):
    file = ImportFile.objects.get()
    client.force_login(charlie)

    urls = [
        f"/integrations/{datagate.pk}/files/",
        f"/integrations/{datagate.pk}/files/{file.pk}/",
        f"/integrations/{datagate.pk}/files/{file.pk}/columns/",
    ]

    assert [client.get(url).status_code for url in urls] == [404, 404, 404]
    response = client.post(urls[0], {"file": SimpleUploadedFile("x.csv", b"a,b\r\n1,2\r\n")})
    assert response.status_code == 404
    assert ImportFile.objects.count() == 1


def test_a_viewer_sees_files_but_cannot_upload(client, bob, datagate, mapped):
    file = ImportFile.objects.get()
    client.force_login(bob)

    assert client.get(f"/integrations/{datagate.pk}/files/{file.pk}/").status_code == 200
    assert client.get(f"/integrations/{datagate.pk}/files/").status_code == 403


def test_the_differences_page_says_datagate_is_read_from_files(client, alice):
    client.force_login(alice)

    page = client.get("/integrations/differences/").content.decode()

    assert "DataGate" in page
    assert "DataGate is read from its export files" in page


def test_a_disconnected_connection_takes_no_file(client, datagate, account, upload):
    client.post(f"/integrations/{datagate.pk}/disconnect/")

    response = client.post(
        f"/integrations/{datagate.pk}/files/",
        {"file": SimpleUploadedFile("invoices.csv", account.export(), "text/csv")},
    )

    assert response.status_code == 302
    assert not ImportFile.objects.exists()


def test_the_files_page_shows_the_watched_folder_ready_for_files(
    client, datagate, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    datagate.preferences = {**datagate.preferences, "watch_folder": True}
    datagate.save(update_fields=["preferences"])

    page = client.get(f"/integrations/{datagate.pk}/files/").content.decode()

    assert str(imports.folder(datagate)) in page
    assert imports.folder(datagate).is_dir()


def test_day_first_dates_are_read_once_the_preferences_say_so(
    client, datagate, account, upload, choose_columns
):
    day_first = account.export()
    for iso, written in (("2026-11-01", "01/11/2026"), ("2026-12-01", "01/12/2026"),
                         ("2026-11-30", "30/11/2026")):  # fmt: skip
        day_first = day_first.replace(iso.encode(), written.encode())
    saved = client.post(
        f"/integrations/{datagate.pk}/preferences/",
        {"date_format": "DD/MM/YYYY", "currency": "AUD"},
    )
    assert saved.status_code == 302

    choose_columns(upload(datagate, day_first))

    invoice = Invoice.objects.get(number="INV-500001")
    assert invoice.due_date.isoformat() == "2026-12-01"
    assert invoice.currency == "USD"  # the file says so; AUD is for files that do not


def test_a_spreadsheet_uploaded_instead_of_the_csv_is_refused_saying_why(datagate, upload):
    response = upload(datagate, b"PK\x03\x04" + b"\x00" * 64, "invoices.xlsx")

    assert "this is not a CSV file" in response.content.decode()
    assert ImportFile.objects.get().status == ImportFile.Status.REFUSED
