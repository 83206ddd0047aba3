"""Validate step: every fact has provenance (checked on the quads) and the data obeys ontology/shapes.ttl (SHACL).

A build stops here on the first violation, so nothing is ever served from data that fails validation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from mlcloudkg import shacl
from mlcloudkg.errors import Violation
from mlcloudkg.locate import SourceIndex
from mlcloudkg.namespaces import MLC, RDF_TYPE_NODE, compact
from mlcloudkg.sources import SourceFile, Sources
from mlcloudkg.validation_parts import HUB_LINKS, PART_TRIPLES

SOURCED_GRAPH = ox.NamedNode(str(MLC.SourcedGraph))
COMPLETE_FOR = ox.NamedNode(str(MLC.completeFor))
VALID_UNTIL = ox.NamedNode(str(MLC.validUntil))
VALID_FROM = ox.NamedNode(str(MLC.validFrom))
AS_OF = ox.NamedNode(str(MLC.asOf))

DESCRIBE_GRAPH = (
    "a description of the graph in the file's default graph: <graph> a mlc:SourcedGraph ; "
    "prov:wasDerivedFrom <source> ; mlc:sourceLocator ... ; mlc:quote ... ; mlc:asOf ... ; mlc:epistemicStatus ..."
)


def validate(
    sources: Sources, *, part_triples: int = PART_TRIPLES, hub_links: int = HUB_LINKS, workers: int | None = None
) -> list[Violation]:
    """All violations in the sources, provenance first, each with the file and line it comes from.

    Data larger than `part_triples` is checked against the shapes in parts, by `workers` processes side by side
    (default: one per core; mlcloudkg.shacl).
    """
    index = SourceIndex([(f.display, f.text) for f in (sources.ontology, *sources.data)])
    violations = [
        Violation(
            path,
            None,
            "-",
            None,
            "the data file is not TriG, so its facts would have no source",
            "data files in TriG (data/*.trig), one named graph per source passage",
        )
        for path in sources.stray_files
    ]
    violations += _ontology_violations(sources.ontology, index)
    violations += _provenance_violations(sources.data, index)
    violations += _shacl_violations(sources, index, part_triples, hub_links, workers)
    return violations


def _ontology_violations(ontology: SourceFile, index: SourceIndex) -> list[Violation]:
    graphs = {q.graph_name for q in ontology.quads if not isinstance(q.graph_name, ox.DefaultGraph)}
    return [
        Violation(
            ontology.display,
            None,
            _term(graph),
            None,
            "the ontology file has a named graph",
            "plain Turtle: ontology terms belong to the ontology graph",
        )
        for graph in graphs
    ]


def _provenance_violations(files: Iterable[SourceFile], index: SourceIndex) -> list[Violation]:
    """Facts outside described named graphs, descriptions of graphs that hold nothing, graphs split across files."""
    violations: list[Violation] = []
    defined_in: dict[ox.NamedNode | ox.BlankNode, list[str]] = defaultdict(list)
    for source in files:
        default = [q for q in source.quads if isinstance(q.graph_name, ox.DefaultGraph)]
        graphs = {q.graph_name for q in source.quads if not isinstance(q.graph_name, ox.DefaultGraph)}
        described = {q.subject for q in default if q.predicate == RDF_TYPE_NODE and q.object == SOURCED_GRAPH}
        for graph in graphs:
            defined_in[graph].append(source.display)
        for graph in sorted(graphs - described, key=str):
            violations.append(
                _at(
                    index,
                    source,
                    graph,
                    None,
                    problem="the named graph has no description, so its facts have no provenance",
                    accepted=DESCRIBE_GRAPH,
                )
            )
        for graph in sorted(described - graphs, key=str):
            violations.append(
                _at(
                    index,
                    source,
                    graph,
                    None,
                    problem="the graph is described but holds no facts",
                    accepted="a named graph block <graph> { ... } with the facts of the passage",
                )
            )
        for graph, prop in _incomplete_claims(source, default):
            violations.append(
                _at(
                    index,
                    source,
                    graph,
                    COMPLETE_FOR,
                    problem=f"the graph says it is complete for {_term(prop)} but states no {_term(prop)}",
                    accepted="mlc:completeFor naming a property the graph's facts use",
                )
            )
        for graph in _ends_before_it_starts(default):
            violations.append(
                _at(
                    index,
                    source,
                    graph,
                    VALID_UNTIL,
                    problem="the graph stops holding before it starts",
                    accepted="mlc:validUntil on or after mlc:validFrom (or mlc:asOf)",
                )
            )
        for quad in _unsourced(default, described):
            violations.append(
                _at(
                    index,
                    source,
                    quad.subject,
                    quad.predicate,
                    problem="a fact outside any named graph has no provenance",
                    accepted="the fact inside the named graph of the passage that states it",
                )
            )
    for graph, paths in defined_in.items():
        if len(paths) > 1:
            violations.append(
                Violation(
                    paths[1],
                    None,
                    _term(graph),
                    None,
                    f"the graph is also defined in {paths[0]}",
                    "each graph in one file: one passage, one graph",
                )
            )
    return violations


def _incomplete_claims(source: SourceFile, default: list[ox.Quad]) -> list[tuple[object, object]]:
    """(graph, property) pairs where a graph claims completeness for a property it never states."""
    stated = {(q.graph_name, q.predicate) for q in source.quads}
    return [
        (q.subject, q.object) for q in default if q.predicate == COMPLETE_FOR and (q.subject, q.object) not in stated
    ]


def _ends_before_it_starts(default: list[ox.Quad]) -> list[object]:
    """Graphs whose mlc:validUntil is earlier than their mlc:validFrom, or their mlc:asOf when they have no start.

    Dates may be partial (xsd:gYear, xsd:gYearMonth), so two dates are compared on the precision both have.
    """
    dates: dict[object, dict[ox.NamedNode, str]] = defaultdict(dict)
    for quad in default:
        if quad.predicate in (VALID_UNTIL, VALID_FROM, AS_OF) and isinstance(quad.object, ox.Literal):
            dates[quad.subject][quad.predicate] = quad.object.value
    ended_early = []
    for graph, known in dates.items():
        start = known.get(VALID_FROM, known.get(AS_OF))
        end = known.get(VALID_UNTIL)
        if start is not None and end is not None:
            precision = min(len(start), len(end))
            if end[:precision] < start[:precision]:
                ended_early.append(graph)
    return sorted(ended_early, key=str)


def _unsourced(default: list[ox.Quad], described: set[ox.NamedNode | ox.BlankNode]) -> list[ox.Quad]:
    """Default-graph statements that are not about a described graph, its sources or what those refer to."""
    reachable: set[object] = set(described)
    frontier = list(described)
    by_subject: dict[object, list[ox.Quad]] = defaultdict(list)
    for quad in default:
        by_subject[quad.subject].append(quad)
    while frontier:
        for quad in by_subject.get(frontier.pop(), []):
            if isinstance(quad.object, ox.NamedNode | ox.BlankNode) and quad.object not in reachable:
                reachable.add(quad.object)
                frontier.append(quad.object)
    return [q for q in default if q.subject not in reachable]


def _shacl_violations(
    sources: Sources, index: SourceIndex, part_triples: int, hub_links: int, workers: int | None
) -> list[Violation]:
    findings = shacl.check(sources, part_triples=part_triples, hub_links=hub_links, workers=workers)
    violations = set()
    for finding in findings:
        location = index.locate(finding.subject, finding.prop, finding.literal)
        violations.add(
            Violation(
                location.path if location else None,
                location.line if location else None,
                finding.shown,
                finding.path,
                finding.problem,
                finding.accepted,
            )
        )
    return sorted(violations, key=lambda v: (v.path or "", v.line or 0, v.resource, v.problem))


def _at(
    index: SourceIndex, source: SourceFile, subject: object, prop: object, *, problem: str, accepted: str
) -> Violation:
    location = index.locate(_iri(subject), _iri(prop))
    line = location.line if location and location.path == source.display else None
    return Violation(source.display, line, _term(subject), _term(prop) if prop else None, problem, accepted)


def _iri(term: object) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def _term(term: object) -> str:
    return compact(term.value) if isinstance(term, ox.NamedNode) else str(term)
