"""WebDAV's XML: request bodies parsed safely, answers written a response at a time.

Bodies are parsed by lxml with no DTD, no entities and no network; a body that declares a
DTD at all is refused before parsing (a "billion laughs" or XXE body is 400 at once), in
whichever encoding it comes (UTF-8, UTF-16 or UTF-32, with or without a byte-order mark: looked
for here, since lxml would only say so after parsing), and so is one nested deeper than any
CalDAV request needs. A body in an encoding of another family that lxml reads is refused as
well when its tree has a DTD.
"""

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, NamedTuple

from lxml import etree

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"
NSMAP = {"d": DAV, "c": CALDAV, "cs": CALSERVER, "ical": APPLE}
MAX_DEPTH = 32
CHUNK_BYTES = 64 * 1024

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_WIDE = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


class Name(NamedTuple):
    """A property or element name: namespace and local name."""

    ns: str
    local: str

    @property
    def tag(self) -> str:
        return f"{{{self.ns}}}{self.local}"

    @classmethod
    def of(cls, tag: Any) -> "Name":
        tag = str(tag)
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        return cls(ns, local)


class BadXml(ValueError):
    pass


def parse(body: bytes) -> etree._Element | None:
    """The body's root element (None for an empty body); raises BadXml."""
    if not body.strip():
        return None
    if _declares_dtd(body):
        raise BadXml("a request body may not declare a DTD")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadXml(f"not well-formed XML: {exc}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise BadXml("a request body may not declare a DTD")
    depth = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DEPTH:
            raise BadXml("the XML is nested too deeply")
    return root


def _declares_dtd(body: bytes) -> bool:
    """Whether the body declares a DTD, read as ASCII does (UTF-8 and the other encodings of
    that family write `<!DOCTYPE` alike) and, when it holds a NUL byte (which `<!DOCTYPE` in
    UTF-16 or UTF-32 does), in each of those, with or without a byte-order mark."""
    if _DTD.search(body.decode("latin-1")):
        return True
    if b"\x00" not in body:
        return False
    return any(_DTD.search(body.decode(wide, errors="replace")) for wide in _WIDE)


def element(name: Name, text: str | None = None, *children: etree._Element) -> etree._Element:
    node = etree.Element(name.tag, nsmap=NSMAP)
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def child(parent: etree._Element, name: Name, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, name.tag)
    if text is not None:
        node.text = text
    return node


def href(path: str) -> etree._Element:
    return element(Name(DAV, "href"), path)


_STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


def status(code: int) -> str:
    return f"HTTP/1.1 {code} {_STATUS_TEXT.get(code, '')}".rstrip()


def response(
    path: str, found: Iterable[etree._Element] = (), missing: Iterable[Name] = ()
) -> etree._Element:
    """A multistatus response with the properties found (200) and those not (404)."""
    node = element(Name(DAV, "response"), None, href(path))
    for code, props in ((200, list(found)), (404, [element(m) for m in missing])):
        if props:
            propstat = child(node, Name(DAV, "propstat"))
            child(propstat, Name(DAV, "prop")).extend(props)
            child(propstat, Name(DAV, "status"), status(code))
    return node


def propstat_response(path: str, by_status: dict[int, list[etree._Element]]) -> etree._Element:
    node = element(Name(DAV, "response"), None, href(path))
    for code, props in by_status.items():
        propstat = child(node, Name(DAV, "propstat"))
        child(propstat, Name(DAV, "prop")).extend(props)
        child(propstat, Name(DAV, "status"), status(code))
    return node


def status_response(path: str, code: int) -> etree._Element:
    node = element(Name(DAV, "response"), None, href(path))
    child(node, Name(DAV, "status"), status(code))
    return node


# --- Responses written directly -------------------------------------------------------------
# A report of thousands of objects writes a response per object: building each as elements for
# lxml to serialise costs more than the rest of the request. These write the same bytes lxml
# writes for `response` and `status_response` (the declarations each response's root carries,
# text escaped as libxml2 escapes it), and leave to lxml what they do not know how to write.

_DECLARATIONS = "".join(f' xmlns:{prefix}="{ns}"' for prefix, ns in NSMAP.items())
_PREFIXES = {ns: prefix for prefix, ns in NSMAP.items()}
# What lxml refuses in text (it raises; so does the lxml path these fall back to).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escaped(text: str) -> str | None:
    if _NOT_XML.search(text):
        return None
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _tag(name: Name) -> str | None:
    prefix = _PREFIXES.get(name.ns)
    return None if prefix is None else f"{prefix}:{name.local}"


def _written(name: Name, text: str | None) -> str | None:
    tag = _tag(name)
    if tag is None:
        return None
    if text is None:
        return f"<{tag}/>"
    escaped = _escaped(text)
    return None if escaped is None else f"<{tag}>{escaped}</{tag}>"


def _propstat(code: int, props: list[str | None]) -> str:
    inner = "".join(p for p in props if p is not None)
    return f"<d:propstat><d:prop>{inner}</d:prop><d:status>{status(code)}</d:status></d:propstat>"


def response_bytes(
    path: str, found: Iterable[tuple[Name, str | None]], missing: Iterable[Name] = ()
) -> bytes | etree._Element:
    """`response(path, ...)` as it is serialised, for properties whose value is text (None: an
    empty element); the element itself where a name or a text is one to leave to lxml."""
    href_text = _escaped(path)
    found, missing = list(found), list(missing)
    parts = [_written(name, text) for name, text in found]
    absent = [_written(name, None) for name in missing]
    if href_text is None or None in parts or None in absent:
        return response(path, (element(n, t) for n, t in found), missing)
    body = [f"<d:response{_DECLARATIONS}><d:href>{href_text}</d:href>"]
    if parts:
        body.append(_propstat(200, parts))
    if absent:
        body.append(_propstat(404, absent))
    body.append("</d:response>")
    return "".join(body).encode()


def status_bytes(path: str, code: int) -> bytes | etree._Element:
    """`status_response(path, code)` as it is serialised."""
    href_text = _escaped(path)
    if href_text is None:
        return status_response(path, code)
    return (
        f"<d:response{_DECLARATIONS}><d:href>{href_text}</d:href>"
        f"<d:status>{status(code)}</d:status></d:response>"
    ).encode()


Answer = etree._Element | bytes  # a response as an element, or already serialised

_HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus' + _DECLARATIONS.encode()


async def multistatus(
    responses: AsyncIterator[Answer], tail: Iterable[etree._Element] = ()
) -> AsyncIterator[bytes]:
    """A multistatus body, a response at a time (then `tail`, such as a sync-token)."""
    buffer = bytearray(_HEAD + b">\n")
    async for node in responses:
        buffer += node if isinstance(node, bytes) else etree.tostring(node, encoding="utf-8")
        if len(buffer) >= CHUNK_BYTES:  # a write per few dozen responses, not one each
            yield bytes(buffer)
            buffer.clear()
    for node in tail:
        buffer += etree.tostring(node, encoding="utf-8")
    yield bytes(buffer + b"</d:multistatus>\n")


def error_body(condition: Name | None, message: str) -> bytes:
    """A DAV:error body naming the precondition that failed, with a sentence for a person."""
    root = element(Name(DAV, "error"))
    if condition is not None:
        child(root, condition)
    # The sentence in a namespace of this service's own: clients ignore what they do not know.
    child(root, Name("urn:todo-api", "message"), message)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return data
