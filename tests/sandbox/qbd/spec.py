"""qbXML 7.0 as ../shared/specs/qbd/qbxmlops70.xml lays it out: which elements go where, in order.

QuickBooks refuses a request whose elements are unknown or out of order, so
a document is checked against the spec's sample of its `...Rq` or `...Rs`:
every element must appear under the same parent there, and siblings must
come in the spec's order (an element may repeat).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

SPECS = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "qbd"
OPS = SPECS / "qbxmlops70.xml"
WSDL = SPECS / "QBWebConnectorSvc.wsdl"


@cache
def shapes() -> dict[str, dict[str, list[str]]]:
    """Return, for each `...Rq` and `...Rs`, its element paths and their children in order."""
    parser = etree.XMLParser(recover=True, huge_tree=True, remove_comments=True)
    root = etree.parse(str(OPS), parser).getroot()
    found: dict[str, dict[str, list[str]]] = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.tag.endswith(("Rq", "Rs")):
            continue
        if node.tag in found or node.getparent() is None:
            continue
        if not node.getparent().tag.startswith("QBXMLMsgs"):
            continue
        shape: dict[str, list[str]] = {}
        walk(node, node.tag, shape)
        found[node.tag] = shape
    return found


def walk(node: etree._Element, path: str, shape: dict[str, list[str]]) -> None:
    children = shape.setdefault(path, [])
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in children:
            children.append(child.tag)
        walk(child, f"{path}/{child.tag}", shape)


def problems(document: str) -> list[str]:
    """Return what in a qbXML document the spec does not allow (nothing: it conforms)."""
    root = etree.fromstring(document.encode())
    messages = root[0]
    found = []
    for message in messages:
        shape = shapes().get(message.tag)
        if shape is None:
            return [f"{message.tag} is not in qbXML 7.0"]
        check(message, message.tag, shape, found)
    return found


def check(node: etree._Element, path: str, shape: dict[str, list[str]], found: list[str]) -> None:
    allowed = shape.get(path)
    if allowed is None:
        found.append(f"{path} is not in the spec")
        return
    last = -1
    for child in node:
        if child.tag not in allowed:
            found.append(f"{path}/{child.tag} is not in the spec")
            continue
        place = allowed.index(child.tag)
        if place < last:
            found.append(f"{path}/{child.tag} comes out of the spec's order")
        last = max(last, place)
        check(child, f"{path}/{child.tag}", shape, found)


@cache
def wsdl_methods() -> dict[str, list[str]]:
    """Return each Web Connector method of the WSDL and its parameters, in order."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    root = etree.parse(str(WSDL)).getroot()
    methods = {}
    for element in root.iter(f"{xs}element"):
        name = element.get("name", "")
        if element.getparent().tag == f"{xs}schema" and not name.endswith("Response"):
            if name in ("ArrayOfString",):
                continue
            methods[name] = [
                e.get("name") for e in element.iter(f"{xs}element") if e is not element
            ]
    return methods
