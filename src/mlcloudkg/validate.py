"""Validate step: every fact has provenance (checked on the quads) and the data obeys ontology/shapes.ttl (SHACL).

A build stops here on the first violation, so nothing is ever served from data that fails validation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, SKOS, XSD

from mlcloudkg.errors import Violation
from mlcloudkg.locate import SourceIndex
from mlcloudkg.namespaces import MLC, SCHEMA, SHAPES, compact
from mlcloudkg.sources import SourceFile, Sources, to_rdflib

SOURCED_GRAPH = ox.NamedNode(str(MLC.SourcedGraph))
RDF_TYPE = ox.NamedNode(str(RDF.type))
COMPLETE_FOR = ox.NamedNode(str(MLC.completeFor))
VALID_UNTIL = ox.NamedNode(str(MLC.validUntil))
VALID_FROM = ox.NamedNode(str(MLC.validFrom))
AS_OF = ox.NamedNode(str(MLC.asOf))

DESCRIBE_GRAPH = (
    "a description of the graph in the file's default graph: <graph> a mlc:SourcedGraph ; "
    "prov:wasDerivedFrom <source> ; mlc:sourceLocator ... ; mlc:quote ... ; mlc:asOf ... ; mlc:epistemicStatus ..."
)


def validate(sources: Sources) -> list[Violation]:
    """All violations in the sources, provenance first, each with the file and line it comes from."""
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
    violations += _shacl_violations(sources, index)
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
        described = {q.subject for q in default if q.predicate == RDF_TYPE and q.object == SOURCED_GRAPH}
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


def _shacl_violations(sources: Sources, index: SourceIndex) -> list[Violation]:
    data = to_rdflib(q for source in (sources.ontology, *sources.data) for q in source.quads)
    shapes = to_rdflib(sources.shapes.quads)
    shapes += _known_unit_shape(data)
    conforms, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=False
    )
    if conforms:
        return []
    assert isinstance(report, Graph)
    shapes_and_report = shapes + report
    violations = [
        _shacl_violation(result, data, shapes_and_report, index)
        for result in report.subjects(RDF.type, SH.ValidationResult)
    ]
    return sorted(set(violations), key=lambda v: (v.path or "", v.line or 0, v.resource, v.problem))


def _known_unit_shape(ontology: Graph) -> Graph:
    """mlcsh:KnownUnitShape: the unit codes and symbols the ontology's mlc:UnitOfMeasure individuals define.

    Generated rather than written in shapes.ttl so the list of units is said once; sh:in keeps it a core
    constraint, which pySHACL checks far faster than a SPARQL constraint run once per quantity.
    """
    codes: list[Node] = []
    texts: list[Node] = []
    for unit in sorted(ontology.subjects(RDF.type, MLC.UnitOfMeasure)):
        code = ontology.value(unit, SKOS.notation)
        if code is not None:
            codes.append(code)
        else:
            texts.extend(ontology.objects(unit, MLC.symbol))
    described = (
        "schema:unitCode with the UN/CEFACT code (skos:notation) of an mlc:UnitOfMeasure in ontology/mlcloud.ttl: "
        + ", ".join(f'"{c}"' for c in codes)
        + "; or schema:unitText with the symbol of one that has no code: "
        + ", ".join(f'"{t}"' for t in texts)
    )
    shape = Graph()
    node = SHAPES.KnownUnitShape
    shape.add((node, RDF.type, SH.NodeShape))
    shape.add((node, SH.targetClass, SCHEMA.QuantitativeValue))
    for path, allowed in ((SCHEMA.unitCode, codes), (SCHEMA.unitText, texts)):
        prop = BNode()
        values = BNode()
        Collection(shape, values, allowed)
        shape.add((node, SH.property, prop))
        shape.add((prop, SH.path, path))
        shape.add((prop, SH["in"], values))
        shape.add((prop, SH.message, Literal("the unit is not a known unit")))
        shape.add((prop, SH.description, Literal(described)))
    return shape


def _shacl_violation(result: Node, data: Graph, graph: Graph, index: SourceIndex) -> Violation:
    focus = graph.value(result, SH.focusNode)
    path = graph.value(result, SH.resultPath)
    value = graph.value(result, SH.value)
    problem = str(graph.value(result, SH.resultMessage) or "does not conform")
    accepted = None
    for shape in (graph.value(result, SH.sourceConstraint), graph.value(result, SH.sourceShape)):
        if shape is not None and graph.value(shape, SH.description) is not None:
            accepted = str(graph.value(shape, SH.description))
            break
    if value is not None and value != focus:
        problem += f" (got {_show(value)})"
    subject, prop, shown = _anchor(data, focus, path)
    location = index.locate(
        str(subject), str(prop) if prop else None, str(value) if isinstance(value, Literal) else None
    )
    return Violation(
        location.path if location else None,
        location.line if location else None,
        shown,
        compact(str(path)) if isinstance(path, URIRef) else None,
        problem,
        accepted or "see ontology/shapes.ttl",
    )


def _anchor(data: Graph, focus: Node | None, path: Node | None) -> tuple[Node | None, Node | None, str]:
    """For a blank node, the named resource and property that lead to it, which is what a reader can find."""
    if not isinstance(focus, BNode):
        return focus, path if isinstance(path, URIRef) else None, _show(focus)
    trail: list[str] = []
    node: Node = focus
    for _ in range(5):
        parent = next(iter(data.subject_predicates(node)), None)
        if parent is None:
            break
        trail.insert(0, compact(str(parent[1])))
        node = parent[0]
        if not isinstance(node, BNode):
            return node, parent[1], " / ".join([_show(node), *trail, "[ ]"])
    return None, None, "[ ]"


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


def _show(node: Node | None) -> str:
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, Literal):
        if node.datatype is None or node.datatype == XSD.string:
            return f'"{node}"'
        return f"{node} ({compact(str(node.datatype))})"
    return "[ ]" if isinstance(node, BNode) else str(node)
