"""Split a large data graph into parts that pySHACL validates one at a time, so memory stays bounded.

pySHACL holds its data graph in rdflib, about 1 KB a triple: a 10M-triple graph would not fit in memory. Our shapes
look from a focus node along its links in either direction, so a part must hold, for each node it validates, every
triple that touches it and what its neighbours are. The split:

- **context**: the ontology, the classes, every node that more than `hub_links` triples point to (a GPU model, a
  source, a country), and everything those nodes link to. Every part holds the context, so a link to it always finds its
  types and description.
- **components**: the rest, joined by their links (union-find): a service, its plans, their prices and runtimes.
  Nothing outside the context links into a component from another, so a component holds every triple that
  touches its nodes. Components are packed into parts of about `part_triples` triples.
- **the context part**: the context nodes are validated once, beside the links that point to them along the
  shapes' inverse paths and target predicates (`sh:inversePath`, `sh:targetObjectsOf`, `sh:targetSubjectsOf`).

A part reports only on the nodes it owns; the others are in it only to be looked at. What this cannot see: a shape
that walks from a node to a context node and on backwards to the context node's other neighbours (none of ours
does). tests/test_validate.py checks that every problem found in parts is the one found in the whole graph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib.namespace import SH

from mlcloudkg.namespaces import RDF_TYPE_NODE

Resource = ox.NamedNode | ox.BlankNode
# The data is split as the quads it was read as: copying every statement into a triple first cost the build
# 350 MiB a million triples (bench/RESULTS.md, run F). Only a part's own statements become triples, for pySHACL.
Statement = ox.Triple | ox.Quad
LOOKS_BACK = [ox.NamedNode(str(term)) for term in (SH.inversePath, SH.targetObjectsOf, SH.targetSubjectsOf)]
PART_TRIPLES = 20_000  # small parts keep the workers evenly loaded and each worker's memory small
HUB_LINKS = 100


@dataclass(frozen=True)
class Part:
    """Triples to validate together; problems count only for focus nodes in `owned` (None: all of them).

    A literal focus node has no links to look along, so its problems count in any part.
    """

    triples: list[ox.Triple]
    owned: set[Resource] | None

    def reports_on(self, focus: ox.NamedNode | ox.BlankNode | ox.Literal) -> bool:
        return self.owned is None or isinstance(focus, ox.Literal) or focus in self.owned


def split(
    ontology: Iterable[Statement],
    data: Iterable[Statement],
    shapes: Iterable[Statement],
    *,
    part_triples: int = PART_TRIPLES,
    hub_links: int = HUB_LINKS,
) -> Iterator[Part]:
    """The parts to validate; a single part holding everything when the data fits in `part_triples`."""
    ontology = list(ontology)
    data = list(data)
    if len(data) <= part_triples:
        yield Part(_triples(ontology, data), None)
        return
    backward = {t.object for t in shapes if t.predicate in LOOKS_BACK and isinstance(t.object, ox.NamedNode)}
    context = _context(ontology, data, hub_links)
    components = _components(data, context)
    context_triples = _triples(ontology, (t for t in data if t.subject in context))
    for owned, statements in _packed(components.values(), context, part_triples):
        yield Part([*context_triples, *_triples(statements)], owned)
    pointing = [t for t in data if t.subject not in context and t.object in context and t.predicate in backward]
    pointers = {t.subject for t in pointing}
    types = [t for t in data if t.predicate == RDF_TYPE_NODE and t.subject in pointers]
    yield Part([*context_triples, *_triples(pointing, types)], set(context))


def _triples(*statements: Iterable[Statement]) -> list[ox.Triple]:
    return [s.triple if isinstance(s, ox.Quad) else s for group in statements for s in group]


def _context(ontology: list[Statement], data: list[Statement], hub_links: int) -> set[Resource]:
    """The ontology's nodes, the classes the data names, and the hubs, with everything they link to."""
    links = Counter(t.object for t in data if isinstance(t.object, Resource) and t.predicate != RDF_TYPE_NODE)
    context: set[Resource] = {t.subject for t in ontology}
    context.update(t.object for t in data if t.predicate == RDF_TYPE_NODE and isinstance(t.object, Resource))  # classes
    context.update(node for node, count in links.items() if count > hub_links)
    by_subject: dict[Resource, list[Resource]] = {}
    for t in data:
        if isinstance(t.object, Resource):
            by_subject.setdefault(t.subject, []).append(t.object)
    frontier = list(context)
    while frontier:
        for target in by_subject.get(frontier.pop(), ()):
            if target not in context:
                context.add(target)
                frontier.append(target)
    return context


def _components(data: list[Statement], context: set[Resource]) -> dict[Resource, list[Statement]]:
    """The statements outside the context, grouped by the connected component of their subject."""
    parent: dict[Resource, Resource] = {}

    def root(node: Resource) -> Resource:
        top = parent.setdefault(node, node)
        while top != parent[top]:
            top = parent[top]
        while parent[node] != top:  # path compression keeps later lookups short
            parent[node], node = top, parent[node]
        return top

    for t in data:
        if t.subject not in context:
            here = root(t.subject)
            if isinstance(t.object, Resource) and t.object not in context:
                there = root(t.object)
                if here != there:
                    parent[there] = here
    groups: dict[Resource, list[Statement]] = {}
    for t in data:
        if t.subject not in context:
            groups.setdefault(root(t.subject), []).append(t)
    return groups


def _packed(
    components: Iterable[list[Statement]], context: set[Resource], part_triples: int
) -> Iterator[tuple[set[Resource], list[Statement]]]:
    owned: set[Resource] = set()
    statements: list[Statement] = []
    for component in components:
        statements.extend(component)
        for t in component:
            owned.add(t.subject)
            if isinstance(t.object, Resource) and t.object not in context:
                owned.add(t.object)
        if len(statements) >= part_triples:
            yield owned, statements
            owned, statements = set(), []
    if statements:
        yield owned, statements
