"""The hostile requests, as data: what each sends and what a well-behaved endpoint answers.

A case is a template: the canary's address and file are only known when the suite runs, so each case builds its
request from `Targets`. `send` runs one over HTTP (or over a raw socket, for what HTTP clients refuse to send).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

SSRF = "SSRF (SERVICE)"
FILE_READ = "file read (FROM)"
UPDATE = "update"
PROTOCOL = "protocol abuse"
DENIAL = "denial of service"

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
OURS = "https://w3id.org/mlcloudkg/graph/asserted"
SPO = "{ ?s ?p ?o }"


@dataclass(frozen=True)
class Targets:
    """What no request may reach: the canary listener's URL and the canary file."""

    url: str
    file: Path

    @property
    def directory(self) -> str:
        return self.file.parent.as_posix()

    @property
    def site(self) -> str:
        """The listener's URL without its path."""
        return self.url.rsplit("/", 1)[0] + "/"


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/sparql"
    params: list[tuple[str, str]] = field(default_factory=list)
    data: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is over a socket


@dataclass(frozen=True)
class Reply:
    status: int
    text: str
    seconds: float


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    request: Callable[[Targets], Request]
    expect: frozenset[int]
    says: str = ""  # a phrase the answer must contain


def case(category: str, name: str, expect: int | set[int], says: str = "") -> Callable:
    """Declare a case by decorating the function that builds its request."""

    def register(build: Callable[[Targets], Request]) -> Callable[[Targets], Request]:
        CASES.append(Case(category, name, build, frozenset({expect} if isinstance(expect, int) else expect), says))
        return build

    return register


CASES: list[Case] = []


def get(query: str, **extra: str) -> Request:
    return Request(params=[("query", query), *extra.items()])


def form(fields: list[tuple[str, str]]) -> Request:
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields).encode()
    return Request("POST", data=body, headers={"Content-Type": FORM})


def direct(query: str | bytes, content_type: str = DIRECT) -> Request:
    body = query.encode() if isinstance(query, str) else query
    return Request("POST", data=body, headers={"Content-Type": content_type})


def raw(text: bytes) -> Request:
    return Request(raw=text)


def send(base: str, request: Request, timeout: float = 60) -> Reply:
    started = time.monotonic()
    if request.raw is not None:
        status, text = _send_raw(base, request.raw, timeout)
        return Reply(status, text, time.monotonic() - started)
    response = requests.request(
        request.method,
        base + request.path,
        params=request.params,
        data=request.data,
        headers=request.headers,
        timeout=timeout,
        allow_redirects=False,
    )
    return Reply(response.status_code, response.text, time.monotonic() - started)


def _send_raw(base: str, text: bytes, timeout: float) -> tuple[int, str]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(text)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split()[1]), answer.decode("utf-8", "replace")


# -- SSRF: SERVICE in every spelling, escape and position ------------------------------------------------------

REFUSED_SERVICE = "SERVICE (federated query) is not allowed"


@case(SSRF, "SERVICE", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERVICE <{t.url}> {SPO} }}")


@case(SSRF, "service in lower case", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"select * where {{ service <{t.url}> {SPO} }}")


@case(SSRF, "SeRvIcE in mixed case", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SeRvIcE <{t.url}> {SPO} }}")


@case(SSRF, "SERVICE SILENT", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERVICE SILENT <{t.url}> {SPO} }}")


@case(SSRF, "\\u escape in the keyword", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ \\u0053ERVICE <{t.url}> {SPO} }}")


@case(SSRF, "\\U escape in the keyword", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERV\\U00000049CE <{t.url}> {SPO} }}")


@case(SSRF, "\\u escapes in the IRI", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERVICE <\\u0068\\u0074tp{t.url[4:]}> {SPO} }}")


@case(SSRF, "comment between keyword and IRI", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERVICE#{{}}\n<{t.url}> {SPO} }}")


@case(SSRF, "no white space at all", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT*WHERE{{SERVICE<{t.url}>{{?s?p?o}}}}")


@case(SSRF, "prefixed name as the service", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"PREFIX c: <{t.site}> SELECT * WHERE {{ SERVICE c:canary {SPO} }}")


@case(SSRF, "BASE-relative service IRI", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"BASE <{t.site}> SELECT * WHERE {{ SERVICE <canary> {SPO} }}")


@case(SSRF, "variable bound by BIND", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ BIND(<{t.url}> AS ?u) SERVICE ?u {SPO} }}")


@case(SSRF, "variable bound by VALUES", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ VALUES ?u {{ <{t.url}> }} SERVICE ?u {SPO} }}")


@case(SSRF, "variable bound from the data", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ ?x <https://schema.org/url> ?u SERVICE ?u {SPO} }}")


@case(SSRF, "nested in a subquery", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{t.url}> {SPO} }} }} }}")


@case(SSRF, "nested in OPTIONAL, UNION and MINUS", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    inner = f"{{ SERVICE <{t.url}> {SPO} }}"
    return get(f"SELECT * WHERE {{ OPTIONAL {inner} {{ }} UNION {inner} MINUS {inner} }}")


@case(SSRF, "nested in FILTER EXISTS", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{t.url}> {SPO} }} }}")


@case(SSRF, "in an ASK", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"ASK {{ SERVICE <{t.url}> {SPO} }}")


@case(SSRF, "in a CONSTRUCT", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{t.url}> {SPO} }}")


@case(SSRF, "in a DESCRIBE", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"DESCRIBE ?s WHERE {{ SERVICE <{t.url}> {SPO} }}")


@case(SSRF, "hidden in a long string by a \\u0022 escape", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f'SELECT * WHERE {{ BIND("\\u0022" AS ?x) SERVICE <{t.url}> {SPO} }} #"""')


@case(SSRF, "hidden in a long string by a \\u0027 escape", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ BIND('\\u0027' AS ?x) SERVICE <{t.url}> {SPO} }} #'''")


@case(SSRF, "hidden behind an escaped IRI and a quote escape", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f'SELECT * WHERE {{ BIND(<urn:a#\\u0041> AS ?y) BIND("\\u0022" AS ?x) SERVICE <{t.url}> {SPO} }} #"""')


@case(SSRF, "in a POST form", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return form([("query", f"SELECT * WHERE {{ SERVICE <{t.url}> {SPO} }}")])


@case(SSRF, "in a POST body", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return direct(f"SELECT * WHERE {{ SERVICE <{t.url}> {SPO} }}")


@case(SSRF, "to the file: scheme", 403, REFUSED_SERVICE)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ SERVICE <file://{t.file}> {SPO} }}")


# -- file read: FROM / FROM NAMED and the protocol's dataset parameters ---------------------------------------

FOREIGN = "names a graph this endpoint does not have"
NOT_OURS = "is not a graph of this endpoint"


@case(FILE_READ, "FROM file:", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <file://{t.file}> WHERE {SPO}")


@case(FILE_READ, "FROM NAMED file:", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM NAMED <file://{t.file}> WHERE {{ GRAPH ?g {SPO} }}")


@case(FILE_READ, "FILE: in upper case", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <FILE://{t.file}> WHERE {SPO}")


@case(FILE_READ, "\\u escape in the scheme", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <\\u0066ile://{t.file}> WHERE {SPO}")


@case(FILE_READ, "percent-encoded path", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <file:{quote(str(t.file), safe='')}> WHERE {SPO}")


@case(FILE_READ, "relative IRI resolved by BASE", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"BASE <file://{t.directory}/> SELECT * FROM <{t.file.name}> WHERE {SPO}")


@case(FILE_READ, "BASE with ../", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"BASE <file://{t.directory}/a/b/> SELECT * FROM <../../{t.file.name}> WHERE {SPO}")


@case(FILE_READ, "BASE given twice", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"BASE <{OURS}/> BASE <file://{t.directory}/> SELECT * FROM <{t.file.name}> WHERE {SPO}")


@case(FILE_READ, "prefixed name", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"PREFIX f: <file://{t.directory}/> SELECT * FROM f:{t.file.name} WHERE {SPO}")


@case(FILE_READ, "relative IRI without BASE", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <{t.file.name}> WHERE {SPO}")


@case(FILE_READ, "/dev/zero", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <file:///dev/zero> WHERE {SPO}")


@case(FILE_READ, "/etc/passwd in FROM NAMED", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <{OURS}> FROM NAMED <file:///etc/passwd> WHERE {SPO}")


@case(FILE_READ, "a remote graph", 403, FOREIGN)
def _(t: Targets) -> Request:
    return get(f"SELECT * FROM <{t.url}> WHERE {SPO}")


@case(FILE_READ, "default-graph-uri=file:", 403, NOT_OURS)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {SPO}", **{"default-graph-uri": f"file://{t.file}"})


@case(FILE_READ, "named-graph-uri=file:", 403, NOT_OURS)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {{ GRAPH ?g {SPO} }}", **{"named-graph-uri": f"file://{t.file}"})


@case(FILE_READ, "default-graph-uri of a remote graph", 403, NOT_OURS)
def _(t: Targets) -> Request:
    return get(f"SELECT * WHERE {SPO}", **{"default-graph-uri": t.url})


# -- updates: every form, through every way in --------------------------------------------------------------

READ_ONLY = "is not accepted"


def update(name: str, text: Callable[[Targets], str]) -> None:
    case(UPDATE, f"{name} as query=", 403, READ_ONLY)(lambda t: get(text(t)))


update("INSERT DATA", lambda t: "INSERT DATA { <urn:a> <urn:b> <urn:c> }")
update("DELETE DATA", lambda t: "DELETE DATA { <urn:a> <urn:b> <urn:c> }")
update("DELETE WHERE", lambda t: "DELETE WHERE { ?s ?p ?o }")
update("DELETE/INSERT WHERE", lambda t: "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }")
update("WITH", lambda t: f"WITH <{OURS}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}")
update("LOAD from the network", lambda t: f"LOAD <{t.url}>")
update("LOAD a file into a graph", lambda t: f"LOAD <file://{t.file}> INTO GRAPH <urn:g>")
update("CLEAR ALL", lambda t: "CLEAR ALL")
update("DROP GRAPH", lambda t: f"DROP GRAPH <{OURS}>")
update("CREATE GRAPH", lambda t: "CREATE GRAPH <urn:new>")
update("ADD", lambda t: f"ADD <{OURS}> TO DEFAULT")
update("MOVE", lambda t: f"MOVE <{OURS}> TO <urn:elsewhere>")
update("COPY", lambda t: f"COPY DEFAULT TO <{OURS}>")
update("two operations", lambda t: "INSERT DATA { <urn:a> <urn:b> 1 } ; CLEAR ALL")
update("lower case", lambda t: "insert data { <urn:a> <urn:b> <urn:c> }")
update("\\u escape in the keyword", lambda t: "\\u0049NSERT DATA { <urn:a> <urn:b> <urn:c> }")
update("after a query", lambda t: "SELECT * WHERE { } ; INSERT DATA { <urn:a> <urn:b> <urn:c> }")


@case(UPDATE, "update= in the URL", 403, "read-only")
def _(t: Targets) -> Request:
    return Request(params=[("update", "CLEAR ALL")])


@case(UPDATE, "update= beside a query", 403, "read-only")
def _(t: Targets) -> Request:
    return Request(params=[("query", "ASK {}"), ("update", "CLEAR ALL")])


@case(UPDATE, "update= in a POST form", 403, "read-only")
def _(t: Targets) -> Request:
    return form([("update", "DROP ALL")])


@case(UPDATE, "INSERT in a POST form query", 403, READ_ONLY)
def _(t: Targets) -> Request:
    return form([("query", "INSERT DATA { <urn:a> <urn:b> <urn:c> }")])


@case(UPDATE, "DELETE in a POST body", 403, READ_ONLY)
def _(t: Targets) -> Request:
    return direct("DELETE WHERE { ?s ?p ?o }")


@case(UPDATE, "application/sparql-update", 403, "read-only")
def _(t: Targets) -> Request:
    return direct("CLEAR ALL", "application/sparql-update")


@case(UPDATE, "application/sparql-update with LOAD", 403, "read-only")
def _(t: Targets) -> Request:
    return direct(f"LOAD <{t.url}>", "application/sparql-update; charset=utf-8")


# -- protocol abuse ---------------------------------------------------------------------------------------------

Q = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
CHUNKED = "POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nConnection: close\r\n"


def method(name: str) -> None:
    case(PROTOCOL, f"{name} method", 405, "Method Not Allowed")(lambda t: Request(name, data=Q.encode()))


for name in ("PUT", "DELETE", "PATCH", "TRACE"):
    method(name)


@case(PROTOCOL, "two query parameters", 400, "2 query parameters")
def _(t: Targets) -> Request:
    return Request(params=[("query", "ASK {}"), ("query", f"SELECT * WHERE {{ SERVICE <{t.url}> {SPO} }}")])


@case(PROTOCOL, "the query in the URL and the form", 400, "both in the URL and in the form body")
def _(t: Targets) -> Request:
    request = form([("query", "ASK {}")])
    return Request("POST", params=[("query", "ASK {}")], data=request.data, headers=request.headers)


@case(PROTOCOL, "the query in the URL of a direct POST", 400, "not in the URL")
def _(t: Targets) -> Request:
    return Request("POST", params=[("query", "ASK {}")], data=b"ASK {}", headers={"Content-Type": DIRECT})


@case(PROTOCOL, "format and output that disagree", 400, "different formats")
def _(t: Targets) -> Request:
    return get(Q, format="json", output="csv")


@case(PROTOCOL, "an unknown format", 406, "is not a format")
def _(t: Targets) -> Request:
    return get(Q, format="exe")


@case(PROTOCOL, "Accept that nothing matches", 406, "Not Acceptable")
def _(t: Targets) -> Request:
    return Request(params=[("query", Q)], headers={"Accept": "application/x-msdownload"})


@case(PROTOCOL, "an Accept header of 1,000 types", {200, 406})
def _(t: Targets) -> Request:
    return Request(params=[("query", Q)], headers={"Accept": ",".join(f"a/b{n};q=0.{n % 9}" for n in range(1000))})


@case(PROTOCOL, "a 20 KB header", 431)
def _(t: Targets) -> Request:
    return Request(params=[("query", Q)], headers={"X-Large": "a" * 20_000})


@case(PROTOCOL, "200 headers", 431)
def _(t: Targets) -> Request:
    return Request(params=[("query", Q)], headers={f"X-Header-{n}": "a" for n in range(200)})


@case(PROTOCOL, "a 9 KB URL", 414)
def _(t: Targets) -> Request:
    return get(Q + " #" + "x" * 9000)


@case(PROTOCOL, "a 1 MB body", 413, "accepted: a body of at most")
def _(t: Targets) -> Request:
    return direct(Q + " #" + "x" * 1_000_000)


@case(PROTOCOL, "a 1 MB form", 413)
def _(t: Targets) -> Request:
    return form([("query", Q + " #" + "x" * 1_000_000)])


@case(PROTOCOL, "a Content-Length of 10 GB", 413)
def _(t: Targets) -> Request:
    return raw((CHUNKED.replace("Connection", "Content-Length: 10000000000\r\nConnection") + "\r\n" + Q).encode())


@case(PROTOCOL, "a chunked body", 200)
def _(t: Targets) -> Request:
    return raw(f"{CHUNKED}Transfer-Encoding: chunked\r\n\r\n{len(Q):x}\r\n{Q}\r\n0\r\n\r\n".encode())


@case(PROTOCOL, "a chunked body of 1 MB", 413)
def _(t: Targets) -> Request:
    chunk = "#" + "x" * 65_535
    chunks = "".join(f"{len(chunk):x}\r\n{chunk}\r\n" for _ in range(16))
    return raw(f"{CHUNKED}Transfer-Encoding: chunked\r\n\r\n{chunks}0\r\n\r\n".encode())


@case(PROTOCOL, "a malformed chunk size", 400, "could not be read")
def _(t: Targets) -> Request:
    return raw(f"{CHUNKED}Transfer-Encoding: chunked\r\n\r\nZZ\r\n{Q}\r\n0\r\n\r\n".encode())


@case(PROTOCOL, "Content-Length and Transfer-Encoding (request smuggling)", 400)
def _(t: Targets) -> Request:
    return raw(
        f"{CHUNKED}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{len(Q):x}\r\n{Q}\r\n0\r\n\r\n".encode()
    )


@case(PROTOCOL, "two Content-Lengths", 400)
def _(t: Targets) -> Request:
    return raw(f"{CHUNKED}Content-Length: 4\r\nContent-Length: {len(Q)}\r\n\r\n{Q}".encode())


@case(PROTOCOL, "a request line that is not HTTP", 400)
def _(t: Targets) -> Request:
    return raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n")


@case(PROTOCOL, "a direct body that is not UTF-8", 400, "not UTF-8")
def _(t: Targets) -> Request:
    return direct(b"ASK { ?s ?p '\xff\xfe' }")


@case(PROTOCOL, "a UTF-16 body", 400, "not UTF-8")
def _(t: Targets) -> Request:
    return direct(Q.encode("utf-16"))


@case(PROTOCOL, "charset=latin-1", 400, "charset is latin-1")
def _(t: Targets) -> Request:
    return direct(Q, f"{DIRECT}; charset=latin-1")


@case(PROTOCOL, "a form that is not UTF-8 once decoded", 400, "not UTF-8")
def _(t: Targets) -> Request:
    return Request("POST", data=b"query=ASK%20%7B%FF%7D", headers={"Content-Type": FORM})


@case(PROTOCOL, "a URL that is not UTF-8 once decoded", 400, "not UTF-8")
def _(t: Targets) -> Request:
    return raw(b"GET /sparql?query=ASK%7B%C3%28%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


@case(PROTOCOL, "a NUL byte in the query", 400, "syntax error")
def _(t: Targets) -> Request:
    return get("ASK { ?s ?p ?o \x00 }")


@case(PROTOCOL, "Content-Type text/plain", 400, "POST with Content-Type 'text/plain'")
def _(t: Targets) -> Request:
    return direct(Q, "text/plain")


@case(PROTOCOL, "no Content-Type", 400, "POST with Content-Type 'missing'")
def _(t: Targets) -> Request:
    return Request("POST", data=Q.encode())


@case(PROTOCOL, "a multipart form", 400, "multipart/form-data")
def _(t: Targets) -> Request:
    boundary = "b0undary"
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="query"\r\n\r\n{Q}\r\n--{boundary}--\r\n'
    return direct(body, f"multipart/form-data; boundary={boundary}")


@case(PROTOCOL, "a JSON body", 400, "application/json")
def _(t: Targets) -> Request:
    return direct('{"query": "ASK {}"}', "application/json")


@case(PROTOCOL, "a body claiming gzip that is not", 400, "not UTF-8")
def _(t: Targets) -> Request:
    request = direct(b"\x1f\x8b\x08 not really gzip")
    return Request("POST", data=request.data, headers={**request.headers, "Content-Encoding": "gzip"})


@case(PROTOCOL, "a form without a query", 400, "no query parameter")
def _(t: Targets) -> Request:
    return form([("format", "json")])


@case(PROTOCOL, "an empty query", 400, "the query is empty")
def _(t: Targets) -> Request:
    return get("   \n ")


@case(PROTOCOL, "a path outside the downloads", 404)
def _(t: Targets) -> Request:
    return Request(path="/download/..%2f..%2fmanifest.json")


@case(PROTOCOL, "a download named by an absolute path", {308, 404})  # 308: to /download/tmp/..., then 404
def _(t: Targets) -> Request:
    return Request(path="/download/" + quote(str(t.file), safe=""))


# -- denial of service: each answered within the time limit, or refused --------------------------------------

BOUNDED = {200, 422, 503}


def denial(name: str, expect: int | set[int], says: str = "") -> Callable:
    return case(DENIAL, name, expect, says)


@denial("a four-way cartesian product", {422, 503})
def _(t: Targets) -> Request:
    return get("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")


@denial("counting a three-way cartesian product", 503, "ran longer than")
def _(t: Targets) -> Request:
    return get("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")


@denial("ordering a cartesian product", {422, 503})
def _(t: Targets) -> Request:
    return get("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY DESC(?c) LIMIT 1")


@denial("DISTINCT over a cartesian product", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT DISTINCT ?c ?f ?i WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } LIMIT 10")


@denial("GROUP_CONCAT over a cartesian product", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT (GROUP_CONCAT(STR(?o)) AS ?all) WHERE { ?a ?b ?c . ?d ?e ?o }")


@denial("a cartesian CONSTRUCT", {422, 503})
def _(t: Targets) -> Request:
    return get("CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }")


@denial("the property path (:p|^:p)*", BOUNDED)
def _(t: Targets) -> Request:
    path = "(<https://w3id.org/mlcloudkg/ontology#offersPlan>|^<https://w3id.org/mlcloudkg/ontology#offersPlan>)*"
    return get(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s {path} ?o . ?o {path} ?z }}")


@denial("the property path (!:x|^!:x)* between two variables", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT * WHERE { ?s (!<urn:x>|^!<urn:x>)* ?o . ?o (!<urn:x>)* ?z }")


@denial("a sequence path of 1,000 steps", BOUNDED)
def _(t: Targets) -> Request:
    return direct("ASK { ?s " + "/".join(["<urn:p>"] * 1000) + " ?o }")


@denial("a catastrophic REGEX", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT * WHERE { ?s ?p ?o FILTER(REGEX(CONCAT(STR(?o), '" + "a" * 40 + "!'), '^(a+)+$')) }")


@denial("a catastrophic REPLACE", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT (REPLACE('" + "a" * 60 + "!', '(a|aa)+$', 'x') AS ?x) WHERE { }")


@denial("a REGEX over every pair of literals", BOUNDED)
def _(t: Targets) -> Request:
    return get("SELECT * WHERE { ?a ?b ?x . ?c ?d ?y FILTER(REGEX(STR(?x), CONCAT('(', STR(?y), ')*$'))) }")


@denial("a string doubled to 16 GB by CONCAT", {422, 503})  # 503 if a busy machine slows it past the limit
def _(t: Targets) -> Request:
    binds = " ".join(
        f"BIND(CONCAT(?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(10)
    )
    return get(f"SELECT (STRLEN(?s10) AS ?n) WHERE {{ BIND('aaaaaaaaaaaaaaaa' AS ?s0) {binds} }}")


@denial("a string grown by nested REPLACE", BOUNDED)
def _(t: Targets) -> Request:
    grown = "'" + "a" * 20 + "'"
    for _ in range(7):
        grown = f"REPLACE({grown}, 'a', 'aaaaaaaaaa')"
    return get(f"SELECT (STRLEN({grown}) AS ?n) WHERE {{ }}")


@denial("a string grown by STRBEFORE and CONCAT per row", BOUNDED)
def _(t: Targets) -> Request:
    return get(
        "SELECT (STRLEN(GROUP_CONCAT(CONCAT(?x, ?x, ?x, ?x); SEPARATOR='')) AS ?n) WHERE { ?s ?p ?o . ?a ?b ?c "
        "BIND(CONCAT(STR(?o), STRBEFORE(STR(?c), ' '), STR(?o)) AS ?x) }"
    )


@denial("3,000 nested braces", 400, "nests brackets more than")
def _(t: Targets) -> Request:
    return direct("SELECT * WHERE " + "{" * 3000 + "?s ?p ?o" + "}" * 3000)


@denial("3,000 nested parentheses", 400, "nests brackets more than")
def _(t: Targets) -> Request:
    return direct("SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }")


@denial("3,000 nested blank node brackets", 400, "nests brackets more than")
def _(t: Targets) -> Request:
    return direct("SELECT * WHERE { ?s <urn:p> " + "[ <urn:p> " * 3000 + "1" + " ]" * 3000 + " }")


@denial("99,000 chained negations", 400, "negations")
def _(t: Targets) -> Request:
    return direct("ASK { FILTER(" + "!" * 99_000 + "true) }")


@denial("a query of 1 MB", 413, "the request body is 1,100,018 bytes long")
def _(t: Targets) -> Request:
    return direct("SELECT * WHERE { " + "?s ?p ?o . " * 100_000 + "}")


@denial("a 99 KB query of 12,000 UNIONs", BOUNDED)
def _(t: Targets) -> Request:
    return direct("ASK { " + "UNION".join(["{}"] * 12_000) + " }")


@denial("a 99 KB query of 4,000 OPTIONALs", BOUNDED)
def _(t: Targets) -> Request:
    return direct("ASK { " + " ".join(["OPTIONAL{?s ?p ?o}"] * 4_000) + " }")


@denial("a VALUES block of 15,000 rows joined with everything", BOUNDED)
def _(t: Targets) -> Request:
    return direct("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o VALUES ?x { " + " ".join(map(str, range(15_000))) + " } }")
