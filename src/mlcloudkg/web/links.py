"""Where a term of the graph is shown on this site: our IRIs map to local pages, others stay as they are."""

from __future__ import annotations

from urllib.parse import urlencode

from mlcloudkg.namespaces import BASE, RDF_TYPE

# Paths under BASE that this site serves, each by the blueprint that owns it.
SERVED_PATHS = ("id/", "source/", "graph/", "ontology")


def local_url(iri: str) -> str | None:
    """The page of one of our IRIs on this site (https://w3id.org/mlcloudkg/id/x -> /id/x), else None.

    Ontology terms are anchors of the ontology page (…/ontology#Term -> /ontology#Term)."""
    if not iri.startswith(BASE):
        return None
    path = iri[len(BASE) :]
    if not path.startswith(SERVED_PATHS):
        return None
    return "/" + path


def explain_url(subject: str, predicate: str, object_: str, capabilities: dict[str, str]) -> str:
    """The explanation page of a statement: a capability membership by resource and class (with its definition
    and the thresholds one may change), any other statement by its three terms (the object in N-Triples)."""
    if predicate == RDF_TYPE and object_.startswith("<") and object_.strip("<>") in capabilities:
        return "/explain?" + urlencode({"resource": subject, "capability": object_.strip("<>")})
    return "/explain?" + urlencode({"subject": subject, "predicate": predicate, "object": object_})


def query_page_url(query: str, title: str) -> str:
    """The query page with a tab holding `query` (YASGUI reads query and tabTitle; the plain form reads query)."""
    return "/?" + urlencode({"query": query, "tabTitle": title})
