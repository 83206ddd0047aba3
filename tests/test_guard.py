"""The guard reads a query the way the engine does and the way the SPARQL spec does, and refuses what either shows."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from mlcloudkg.endpoint.guard import Limits, check_query
from mlcloudkg.errors import QueryRejected

ASSERTED = "https://w3id.org/mlcloudkg/graph/asserted"
OURS = frozenset({ASSERTED})
CANARY = "http://127.0.0.1:9/canary"

# Each hides SERVICE from one reading of \u escapes; the engine runs the SERVICE.
HIDDEN_FROM_ONE_READING = {
    "quote escape opens a long string": (
        f'SELECT * WHERE {{ BIND("\\u0022" AS ?x) SERVICE <{CANARY}> {{ ?s ?p ?o }} }} #"""'
    ),
    "apostrophe escape opens a long string": (
        f"SELECT * WHERE {{ BIND('\\u0027' AS ?x) SERVICE <{CANARY}> {{ ?s ?p ?o }} }} #'''"
    ),
    "escaped IRI then quote escape": (
        f'SELECT * WHERE {{ BIND(<urn:a#\\u0041> AS ?y) BIND("\\u0022" AS ?x) SERVICE <{CANARY}> {{ ?s ?p ?o }} }} #"""'
    ),
}


@pytest.mark.parametrize("query", HIDDEN_FROM_ONE_READING.values(), ids=HIDDEN_FROM_ONE_READING.keys())
def test_service_hidden_by_escapes_is_refused(query: str) -> None:
    with pytest.raises(QueryRejected, match="SERVICE") as refused:
        check_query(query, OURS, Limits())
    assert refused.value.status == 403


@pytest.mark.parametrize("query", HIDDEN_FROM_ONE_READING.values(), ids=HIDDEN_FROM_ONE_READING.keys())
def test_the_engine_does_parse_those_queries_as_service(query: str) -> None:
    """Why the guard must read them as the engine does: the engine sees a SERVICE clause (and tries to call it)."""
    with pytest.raises(OSError, match="port 9"):  # port 9 is refused by the engine's HTTP client before connecting
        list(ox.Store().query(query))


def test_an_escaped_quote_in_a_string_is_still_a_query_we_run() -> None:
    checked = check_query('SELECT ?x WHERE { BIND("\\u0022" AS ?x) }', OURS, Limits())
    assert checked.form == "SELECT"


def test_an_escaped_iri_is_decoded_before_it_is_compared_with_our_graphs() -> None:
    assert check_query(f"SELECT * FROM <{ASSERTED[:-8]}\\u0061sserted> {{ }}", OURS, Limits()).form == "SELECT"
    with pytest.raises(QueryRejected, match="file:///etc/passwd"):
        check_query("SELECT * FROM <\\u0066ile:///etc/passwd> { }", OURS, Limits())


def test_a_chain_of_negations_counts_as_nesting() -> None:
    """The engine recurses once per `!`; 20,000 of them (20 KB) crashed it with a stack overflow."""
    check_query("ASK { FILTER(" + "!" * 64 + "true) }", OURS, Limits())
    with pytest.raises(QueryRejected, match="more than 64 !"):
        check_query("ASK { FILTER(" + "!" * 65 + "true) }", OURS, Limits())
