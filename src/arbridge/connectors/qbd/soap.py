"""The QuickBooks Web Connector's SOAP 1.1 envelopes, as the service arbridge serves reads them.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/get-started/get-started-with-quickbooks-web-connector
# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBWC_proguide.pdf
# Reference: ../shared/specs/qbd/QBWebConnectorSvc.wsdl (document/literal, namespace below)
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
NAMESPACE = "http://developer.intuit.com/"
METHODS = frozenset(
    {
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "connectionError",
        "getLastError",
        "closeConnection",
    }
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class BadCall(ValueError):
    """The body is not a call of the Web Connector service."""


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, str]


def read(body: bytes) -> Call:
    """Return the method called and its parameters (by local name, as text)."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as e:
        raise BadCall(f"not XML: {e}") from e
    soap_body = root.find(f"{{{ENVELOPE}}}Body")
    if root.tag != f"{{{ENVELOPE}}}Envelope" or soap_body is None or len(soap_body) == 0:
        raise BadCall("not a SOAP 1.1 envelope")
    call = soap_body[0]
    method = etree.QName(call).localname
    if method not in METHODS or etree.QName(call).namespace != NAMESPACE:
        raise BadCall(f"no such method: {method}")
    return Call(method, {etree.QName(p).localname: p.text or "" for p in call})


def answer(method: str, result: str | int | list[str]) -> bytes:
    """Return the envelope of a method's result (a string array for authenticate)."""
    root = etree.Element(f"{{{ENVELOPE}}}Envelope", nsmap={"soap": ENVELOPE})
    soap_body = etree.SubElement(root, f"{{{ENVELOPE}}}Body")
    response = etree.SubElement(
        soap_body, f"{{{NAMESPACE}}}{method}Response", nsmap={None: NAMESPACE}
    )
    value = etree.SubElement(response, f"{{{NAMESPACE}}}{method}Result")
    if isinstance(result, list):
        for item in result:
            etree.SubElement(value, f"{{{NAMESPACE}}}string").text = item
    else:
        value.text = str(result)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def fault(message: str) -> bytes:
    """Return a SOAP Fault from the client side (a call that could not be read)."""
    root = etree.Element(f"{{{ENVELOPE}}}Envelope", nsmap={"soap": ENVELOPE})
    soap_body = etree.SubElement(root, f"{{{ENVELOPE}}}Body")
    node = etree.SubElement(soap_body, f"{{{ENVELOPE}}}Fault")
    etree.SubElement(node, "faultcode").text = "soap:Client"
    etree.SubElement(node, "faultstring").text = message
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
