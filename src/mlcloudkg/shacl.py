"""The SHACL step of validation: pySHACL checks the data against ontology/shapes.ttl, in parts, side by side.

Small data is one part checked in this process. Data larger than a part (mlcloudkg.validation_parts) is checked
part by part in a pool of worker processes, one per core: pySHACL is pure Python, so threads would take turns.
Workers are spawned rather than forked, so that none inherits the build's copy of every source triple.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from itertools import chain
from multiprocessing import current_process, get_context

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, BNode, Graph, Literal, Node, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, SKOS, XSD

from mlcloudkg.namespaces import MLC, SCHEMA, SHAPES, compact
from mlcloudkg.sources import Sources, to_rdflib
from mlcloudkg.validation_parts import Part, split

PARTS_IN_FLIGHT = 2  # a worker's next part is ready when it finishes one


@dataclass(frozen=True)
class Finding:
    """A SHACL result, said for a reader; `subject`, `prop` and `literal` find its line in the sources."""

    subject: str | None
    prop: str | None
    literal: str | None
    shown: str
    path: str | None
    problem: str
    accepted: str


def check(sources: Sources, *, part_triples: int, hub_links: int, workers: int | None = None) -> set[Finding]:
    """Every finding of the shapes over the ontology and the data (`workers`: processes, default one per core)."""
    ontology = [q.triple for q in sources.ontology.quads]
    shape_triples = [q.triple for q in sources.shapes.quads]
    shapes = to_rdflib(shape_triples) + _known_unit_shape(to_rdflib(ontology))
    data = (q for source in sources.data for q in source.quads)
    parts = split(ontology, data, shape_triples, part_triples=part_triples, hub_links=hub_links)
    first = next(parts)
    processes = workers or os.cpu_count() or 1
    if first.owned is None or processes == 1 or current_process().daemon:
        # One part, one process asked for, or a caller that is a daemon process (which may not start any).
        return {finding for part in chain([first], parts) for finding in _check_part(part, shapes)}
    shapes_text = shapes.serialize(format="nt")
    findings: set[Finding] = set()
    spawn = get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn, initializer=_load_shapes, initargs=(shapes_text,)) as pool:
        for found in _bounded_map(pool, _check_in_worker, chain([first], parts), PARTS_IN_FLIGHT * processes):
            findings.update(found)
    return findings


def _bounded_map(
    pool: Executor, function: Callable[[Part], list[Finding]], parts: Iterator[Part], in_flight: int
) -> Iterator[list[Finding]]:
    """pool.map, holding at most `in_flight` parts at a time. Executor.map takes every part at once, and the parts
    of a 10M-triple graph, with the nodes each one reports on, are the size of the data."""
    pending: set[Future[list[Finding]]] = set()
    for part in parts:
        if len(pending) >= in_flight:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
        pending.add(pool.submit(function, part))
    for future in as_completed(pending):
        yield future.result()


_WORKER_SHAPES: dict[str, Graph] = {}  # in a worker process: the shapes, parsed once for every part it checks


def _load_shapes(shapes_text: str) -> None:
    _WORKER_SHAPES["shapes"] = Graph().parse(data=shapes_text, format="nt")


def _check_in_worker(part: Part) -> list[Finding]:
    return list(_check_part(part, _WORKER_SHAPES["shapes"]))


def _check_part(part: Part, shapes: Graph) -> Iterable[Finding]:
    graph = to_rdflib(part.triples)
    # inplace: the graph is ours to spend, so pySHACL need not copy it (which doubled the memory).
    conforms, report, _ = pyshacl.validate(
        graph, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=False, inplace=True
    )
    if conforms:
        return []
    assert isinstance(report, Graph)
    shapes_and_report = shapes + report
    return [
        _finding(result, graph, shapes_and_report)
        for result in report.subjects(RDF.type, SH.ValidationResult)
        if part.reports_on(_ox_term(report.value(result, SH.focusNode)))
    ]


def _finding(result: Node, data: Graph, graph: Graph) -> Finding:
    focus = graph.value(result, SH.focusNode)
    path = graph.value(result, SH.resultPath)
    value = graph.value(result, SH.value)
    problem = _message(result, graph)
    accepted = None
    for shape in (graph.value(result, SH.sourceConstraint), graph.value(result, SH.sourceShape)):
        if shape is not None and graph.value(shape, SH.description) is not None:
            accepted = str(graph.value(shape, SH.description))
            break
    if value is not None and value != focus:
        problem += f" (got {_show(value)})"
    subject, prop, shown = _anchor(data, focus, path)
    return Finding(
        str(subject) if subject is not None else None,
        str(prop) if prop is not None else None,
        str(value) if isinstance(value, Literal) else None,
        shown,
        compact(str(path)) if isinstance(path, URIRef) else None,
        problem,
        accepted or "see ontology/shapes.ttl",
    )


def _ox_term(node: Node | None) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    return ox.Literal(str(node))


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


def _message(result: Node, graph: Graph) -> str:
    """The result's message: a SPARQL constraint's result carries its own and its shape's, so take the
    constraint's; any other choice, the same every time."""
    messages = sorted(str(m) for m in graph.objects(result, SH.resultMessage))
    constraint = graph.value(result, SH.sourceConstraint)
    own = graph.value(constraint, SH.message) if constraint is not None else None
    if own is not None and str(own) in messages:
        return str(own)
    return messages[0] if messages else "does not conform"


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


def _show(node: Node | None) -> str:
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, Literal):
        if node.datatype is None or node.datatype == XSD.string:
            return f'"{node}"'
        return f"{node} ({compact(str(node.datatype))})"
    return "[ ]" if isinstance(node, BNode) else str(node)
