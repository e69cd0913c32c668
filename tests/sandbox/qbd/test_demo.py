"""The demo's QuickBooks Desktop: a seeded company, mounted, and a Web Connector that retries."""

from arbridge.sandbox.qbd import demo


def test_the_demo_company_is_seeded_once_and_its_web_connector_polls_on_a_thread():
    pc = demo.seed_demo("http://127.0.0.1:9/poll/qbd/", "arbridge-demo", "a demo password")
    again = demo.seed_demo("http://127.0.0.1:9/poll/qbd/", "arbridge-demo", "a demo password")
    try:
        assert len(demo.COMPANY.invoices) == demo.INVOICES
        assert len(demo.COMPANY.customers) == demo.CUSTOMERS
        assert demo.sandbox().company is demo.COMPANY
        assert demo.MOUNT == "/sandbox/qbd"
    finally:
        pc.stop.set()
        again.stop.set()
