"""No query makes the service connect anywhere or read any file, however it is spelled (SERVICE, FROM, FROM NAMED,
LOAD; upper and lower case, \\u escapes, comments, relative IRIs resolved by BASE)."""

from __future__ import annotations

import time

import pytest
import requests

from ..conftest import LiveServer
from .conftest import CanaryFile, Listener


def hostile_queries(listener: Listener, canary: CanaryFile) -> list[str]:
    url, path = listener.url, canary.path
    directory, name = path.parent.as_posix(), path.name
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SER\\u0056ICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE#comment\n<{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX c: <{url[:-6]}> SELECT * WHERE {{ SERVICE c:canary {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        f"ASK {{ SERVICE <{url}> {{ }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <file://{path}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM <\\u0066ile://{path}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <file://{path}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"BASE <file://{directory}/> SELECT * FROM <{name}> WHERE {{ ?s ?p ?o }}",
        f"BASE <file://{directory}/sub/> SELECT * FROM <../{name}> WHERE {{ ?s ?p ?o }}",
        f"PREFIX f: <file://{directory}/> SELECT * FROM f:{name} WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM <{name}> WHERE {{ ?s ?p ?o }}",
        f"LOAD <{url}>",
        f"LOAD <file://{path}> INTO GRAPH <urn:g>",
        f"DESCRIBE <{url}>",
        f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o = <{url}>) }} LIMIT 1",
    ]


def test_nothing_leaves_and_nothing_is_read(
    server: LiveServer, canary_listener: Listener, canary_file: CanaryFile
) -> None:
    answers = []
    for query in hostile_queries(canary_listener, canary_file):
        for method in ("GET", "POST"):
            if method == "GET":
                response = requests.get(server.url + "/sparql", params={"query": query}, timeout=15)
            else:
                response = requests.post(
                    server.url + "/sparql",
                    data=query.encode(),
                    headers={"Content-Type": "application/sparql-query"},
                    timeout=15,
                )
            answers.append((query, method, response.status_code, response.text))
    time.sleep(1)  # a connection attempt in flight would have arrived by now
    assert canary_listener.connections == []
    assert not canary_file.was_read()
    assert all(canary_file.secret not in text for *_, text in answers)
    refused = [(q, m) for q, m, status, _ in answers if not 400 <= status < 500]
    harmless = {
        f"DESCRIBE <{canary_listener.url}>",
        f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o = <{canary_listener.url}>) }} LIMIT 1",
    }
    assert {q for q, _ in refused} <= harmless  # only queries that merely mention an IRI may run


@pytest.mark.parametrize("spelling", ["SERVICE", "service", "SeRvIcE", "\\u0053ERVICE", "\\U00000053ERVICE"])
def test_every_spelling_of_service_is_refused_with_403(
    server: LiveServer, canary_listener: Listener, spelling: str
) -> None:
    query = f"SELECT * WHERE {{ {spelling} <{canary_listener.url}> {{ ?s ?p ?o }} }}"
    response = requests.get(server.url + "/sparql", params={"query": query}, timeout=15)
    assert response.status_code == 403
    assert "SERVICE (federated query) is not allowed" in response.text
