"""POST /api/Invoice/PDF/<id>: the invoice as Halo's own PDF."""


def test_it_answers_a_real_pdf_of_the_invoice(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Managed services", 12, "45.00"))

    response = halo.request("POST", f"Invoice/PDF/{invoice['id']}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.content.rstrip().endswith(b"%%EOF")
    assert f"/Title (Invoice {invoice['invoicenumber']})".encode() in response.content


def test_there_is_no_pdf_of_an_invoice_that_does_not_exist(halo):
    assert halo.request("POST", "Invoice/PDF/999").status_code == 404
