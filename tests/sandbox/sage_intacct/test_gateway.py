"""The Sage Intacct sandbox's XML gateway from outside, as raw requests."""

import httpx
import pytest
from lxml import etree

from arbridge.sandbox.sage_intacct import create_app, seed
from arbridge.sandbox.sage_intacct.app import SENDER_ID, SENDER_PASSWORD

COMPANY = "acme-it"
URL = "http://intacct.sandbox.test/ia/xml/xmlgw.phtml"


@pytest.fixture
def app():
    app = create_app()
    app.store.add_company(COMPANY, "Acme IT", entities={"EAST": "East"})
    seed(app.store, COMPANY, customers=2, invoices=5)
    return app


@pytest.fixture
def http(app):
    return httpx.Client(transport=httpx.WSGITransport(app=app))


def send(http, auth: str, content: str, *, controlid="c1", unique=False, sender=SENDER_PASSWORD):
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<request><control><senderid>{SENDER_ID}</senderid><password>{sender}</password>
<controlid>{controlid}</controlid><uniqueid>{"true" if unique else "false"}</uniqueid>
<dtdversion>3.0</dtdversion></control>
<operation><authentication>{auth}</authentication><content>{content}</content></operation>
</request>"""
    response = http.post(URL, content=body.encode(), headers={"Content-Type": "application/xml"})
    assert response.status_code == 200
    return etree.fromstring(response.content)


LOGIN = (
    f"<login><userid>xml_gateway</userid><companyid>{COMPANY}</companyid>"
    "<password>gateway-password</password></login>"
)


def session(http) -> str:
    answer = send(http, LOGIN, '<function controlid="s"><getAPISession/></function>')
    return answer.findtext("operation/result/data/api/sessionid")


def test_a_login_opens_a_session_that_later_requests_carry(http):
    sid = session(http)
    answer = send(
        http,
        f"<sessionid>{sid}</sessionid>",
        '<function controlid="r"><readByQuery><object>ARINVOICE</object>'
        "<fields>RECORDNO,TOTALDUE</fields><query></query><pagesize>2</pagesize>"
        "</readByQuery></function>",
    )

    assert answer.findtext("control/status") == "success"
    assert answer.findtext("operation/authentication/status") == "success"
    data = answer.find("operation/result/data")
    assert (data.get("count"), data.get("totalcount"), data.get("numremaining")) == ("2", "5", "3")
    assert data.get("resultId")
    assert [child.tag for child in data] == ["ARINVOICE", "ARINVOICE"]
    assert [field.tag for field in data[0]] == ["RECORDNO", "TOTALDUE"]


def test_read_more_goes_on_from_the_result_and_ends_it(http):
    sid = session(http)
    auth = f"<sessionid>{sid}</sessionid>"
    first = send(
        http,
        auth,
        "<function controlid='r'><readByQuery><object>CUSTOMER</object><fields>*</fields>"
        "<query></query><pagesize>1</pagesize></readByQuery></function>",
    )
    result_id = first.find("operation/result/data").get("resultId")

    more = send(http, auth, f"<function controlid='m'><readMore><resultId>{result_id}</resultId>"
                "</readMore></function>")  # fmt: skip
    again = send(http, auth, f"<function controlid='m'><readMore><resultId>{result_id}</resultId>"
                 "</readMore></function>")  # fmt: skip

    data = more.find("operation/result/data")
    assert (data.get("count"), data.get("numremaining")) == ("1", "0")
    assert data[0].find("BILLTO/EMAIL1").text.startswith("ap@")
    assert again.findtext("operation/result/status") == "failure"


def test_a_unique_control_id_is_refused_the_second_time(app, http):
    sid = session(http)
    invoice = next(iter(app.store.companies[COMPANY].invoices.values()))
    payment = (
        "<function controlid='p'><create><ARPYMT><FINANCIALENTITY>BOA-OPERATING</FINANCIALENTITY>"
        f"<CUSTOMERID>{invoice['CUSTOMERID']}</CUSTOMERID><RECEIPTDATE>03/02/2026</RECEIPTDATE>"
        f"<ARPYMTDETAILS><ARPYMTDETAIL><RECORDKEY>{invoice['RECORDNO']}</RECORDKEY>"
        "<TRX_PAYMENTAMOUNT>1.00</TRX_PAYMENTAMOUNT></ARPYMTDETAIL></ARPYMTDETAILS>"
        "</ARPYMT></create></function>"
    )
    auth = f"<sessionid>{sid}</sessionid>"

    first = send(http, auth, payment, controlid="pay-1", unique=True)
    second = send(http, auth, payment, controlid="pay-1", unique=True)
    other = send(http, auth, payment, controlid="pay-2", unique=True)

    assert first.findtext("operation/result/status") == "success"
    assert second.findtext("control/status") == "failure"
    assert second.findtext("errormessage/error/errorno") == "XL03000009"
    assert other.findtext("operation/result/status") == "success"
    assert len(app.store.payments_of(COMPANY, invoice["RECORDNO"])) == 2


def test_a_wrong_sender_or_login_is_refused(http):
    wrong_sender = send(http, LOGIN, "<function controlid='s'><getAPISession/></function>",
                        sender="nope")  # fmt: skip
    wrong_login = send(
        http,
        LOGIN.replace("gateway-password", "nope"),
        "<function controlid='s'><getAPISession/></function>",
    )

    assert wrong_sender.findtext("control/status") == "failure"
    assert wrong_sender.findtext("errormessage/error/errorno") == "XL03000005"
    assert wrong_login.findtext("operation/authentication/status") == "failure"


def test_a_session_for_an_entity_sees_its_own_and_the_shared_customers(app, http):
    app.store.add_customer(COMPANY, "East Clinic", entity="EAST")
    app.store.companies[COMPANY].entities["WEST"] = "West"
    app.store.add_customer(COMPANY, "West Clinic", entity="WEST")
    shared = sorted(c["NAME"] for c in app.store.companies[COMPANY].customers.values()
                    if not c["MEGAENTITYID"])  # fmt: skip
    login = LOGIN.replace("</login>", "<locationid>EAST</locationid></login>")
    answer = send(
        http,
        login,
        "<function controlid='r'><readByQuery><object>CUSTOMER</object><fields>NAME</fields>"
        "<query></query><pagesize>100</pagesize></readByQuery></function>",
    )

    names = [record.findtext("NAME") for record in answer.find("operation/result/data")]
    assert sorted(names) == sorted([*shared, "East Clinic"])
    assert len(shared) == 2
    assert answer.findtext("operation/authentication/locationid") == "EAST"
