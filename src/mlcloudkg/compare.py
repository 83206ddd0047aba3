"""Side-by-side comparison of services: the article's tables for any set of services, every cell with the
statement it shows (subject, property) and the passages that state it, derived capabilities marked as derived."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mlcloudkg.api import KnowledgeGraph, UnknownName
from mlcloudkg.cells import CHECK, CROSS, cpu_cell, gpu_cell, money, number, ram_cell, sharing_cell, upto
from mlcloudkg.errors import InvalidParameter
from mlcloudkg.history import Freshness
from mlcloudkg.namespaces import MLC, compact
from mlcloudkg.store import Row

SCHEMA = "https://schema.org/"
# Columns side by side: more is unreadable, and each costs its own queries.
MAX_COMPARED = 10
# Services an error message names when one is unknown (a large graph has thousands).
NAMED_IN_ERRORS = 20
# Services a form or the API document lists one by one; a larger graph's are asked for by id.
LISTED_ONE_BY_ONE = 100


@dataclass
class Source:
    graph: str
    title: str
    locator: str
    as_of: str | None
    status: str


@dataclass
class Cell:
    """One value of the comparison: its text, the statement behind it and that statement's sources."""

    text: str
    subject: str | None = None  # the statement the cell shows: subject, property and, where it matters, object
    predicate: str | None = None
    object: str | None = None
    link: str | None = None  # an external page (documentation, homepage) the value names
    capability: str | None = None  # set on derived cells: explain(service, capability) says why
    sources: list[Source] = field(default_factory=list)

    @property
    def derived(self) -> bool:
        return self.capability is not None


@dataclass
class ComparisonRow:
    label: str
    cells: dict[str, Cell]


@dataclass
class Section:
    title: str
    rows: list[ComparisonRow]


@dataclass
class Comparison:
    services: list[tuple[str, str]]  # (IRI, name), in the order asked
    sections: list[Section]
    freshness: Freshness  # how old the facts about the compared services are

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell | None) -> dict[str, Any] | None:
            if c is None:
                return None
            return {
                "text": c.text,
                "subject": c.subject,
                "predicate": c.predicate,
                "object": c.object,
                "link": c.link,
                "derived": c.derived,
                "capability": c.capability,
                "sources": [s.__dict__ for s in c.sources],
            }

        return {
            "facts": self.freshness.to_dict(date.today()),
            "services": [{"iri": iri, "name": name} for iri, name in self.services],
            "sections": [
                {
                    "title": s.title,
                    "rows": [
                        {"label": r.label, "cells": {iri: cell(r.cells.get(iri)) for iri, _ in self.services}}
                        for r in s.rows
                    ],
                }
                for s in self.sections
            ],
        }


def some_of(names: list[str]) -> str:
    """Names for a message: the first NAMED_IN_ERRORS of them, and how many more there are."""
    more = len(names) - NAMED_IN_ERRORS
    shown = ", ".join(names[:NAMED_IN_ERRORS])
    return f"{shown}, and {more} more (the services query lists them)" if more > 0 else shown


def _each(kg: KnowledgeGraph, query: str, iris: list[str]) -> list[Row]:
    """A named query asked about each service in turn: its rows for the services compared, at a cost that does not
    grow with the other services in the graph."""
    return [row for iri in iris for row in kg.named(query, service=iri)]


def compare(kg: KnowledgeGraph, wanted: list[str]) -> Comparison:
    """The comparison of the services named by `wanted` (IRIs, prefixed or bare names; at most MAX_COMPARED), in
    that order."""
    if len(wanted) > MAX_COMPARED:
        raise InvalidParameter(
            "providers", f"names {len(wanted)} services", f"at most {MAX_COMPARED} services side by side"
        )
    known = dict(kg.services())
    iris = []
    for name in wanted:
        iri = kg.resolve(name, "https://w3id.org/mlcloudkg/id/")
        if iri not in known:
            accepted = some_of([compact(service) for service in sorted(known)])
            raise UnknownName(f"{name!r} is not a service of the graph — accepted: {accepted}")
        iris.append(iri)
    sections = [_about(kg, iris), _free_tier(kg, iris), _plans(kg, iris), _features(kg, iris), _capabilities(kg, iris)]
    _attach_sources(kg, sections)
    return Comparison([(iri, known[iri]) for iri in iris], sections, kg.freshness(iris))


def _about(kg: KnowledgeGraph, iris: list[str]) -> Section:
    rows: dict[str, dict[str, Cell]] = defaultdict(dict)
    for row in _each(kg, "what-is", iris):
        if "description" in row:
            rows["Description"][row["service"]] = Cell(row["description"], row["service"], SCHEMA + "description")
        rows["Made by"][row["service"]] = Cell(row["providerName"], row["service"], SCHEMA + "provider")
    for row in _each(kg, "services", iris):
        if "homepage" in row:
            rows["Homepage"][row["service"]] = Cell(
                row["homepage"], row["service"], SCHEMA + "url", link=row["homepage"]
            )
    return Section("What it is", [ComparisonRow(label, cells) for label, cells in rows.items()])


def _free_tier(kg: KnowledgeGraph, iris: list[str]) -> Section:
    rows: dict[str, dict[str, Cell]] = defaultdict(dict)
    for row in _each(kg, "free-runtimes", iris):
        service, runtime = row["service"], row["runtime"]
        if service in rows["GPU"]:
            continue
        rows["GPU"][service] = Cell(gpu_cell(row), runtime, str(MLC.gpuModel))
        rows["GPU RAM"][service] = Cell(upto(row.get("gpuMemoryMaxGB"), " GB"), runtime, str(MLC.gpuMemory))
        rows["CPU"][service] = Cell(
            cpu_cell(row), runtime, str(MLC.cpuCoreCount) if "cpuCores" in row else str(MLC.vcpuCount)
        )
        rows["RAM"][service] = Cell(ram_cell(row), runtime, str(MLC.memory))
        storage = f"{number(row['storageGB'])} GB" if "storageGB" in row else "?"
        if "storagePersistent" in row:
            storage += ", persistent" if row["storagePersistent"] else ", not persistent"
        rows["Storage"][service] = Cell(storage, runtime, str(MLC.diskStorage))
        rows["Session limit"][service] = Cell(
            upto(row.get("maxSessionHours"), " hours"), runtime, str(MLC.maxSessionDuration)
        )
        if "idleTimeoutMinutes" in row:
            rows["Idle timeout"][service] = Cell(
                f"{number(row['idleTimeoutMinutes'])} min", runtime, str(MLC.idleTimeout)
            )
        rows["Sharing"][service] = Cell(sharing_cell(row), row["plan"], str(MLC.allowsSharingMode))
    return Section("Free GPU tier", [ComparisonRow(label, cells) for label, cells in rows.items()])


def _plans(kg: KnowledgeGraph, iris: list[str]) -> Section:
    by_plan: dict[str, list[Row]] = defaultdict(list)
    for row in _each(kg, "plans", iris):
        by_plan[row["plan"]].append(row)
    cells: dict[str, list[str]] = defaultdict(list)
    for plan_rows in by_plan.values():
        first = plan_rows[0]
        prices = []
        for row in plan_rows:
            if "price" not in row:
                continue
            amount = money(row["price"], row["currency"])
            if "referenceQuantity" in row:
                text = f"{amount} for {'~' if row.get('approximate') else ''}{row['referenceQuantity']} hours"
            else:
                text = amount + {"MON": "/month", "HUR": "/hour", "ANN": "/year"}.get(row.get("unit", ""), "")
            prices.append((row["price"], text))
        # Cheapest first, and GPUs by name: stores return rows, and GROUP_CONCAT's parts, in an order of their own.
        price = " + ".join(text for _, text in sorted(prices)) or (
            "free" if first["pricingModel"] == "free tier" else "price not stated"
        )
        details = [first["pricingModel"], price]
        if first.get("gpus"):
            details.append(", ".join(sorted(first["gpus"].split(", "))))
        if first.get("regions"):
            details.append(f"only in {', '.join(sorted(first['regions'].split(', ')))}")
        cells[first["service"]].append(f"{first['planName']}: {'; '.join(details)}")
    row = {service: Cell("\n".join(sorted(lines)), service, str(MLC.offersPlan)) for service, lines in cells.items()}
    return Section("Plans", [ComparisonRow("Plans and prices", row)])


def _features(kg: KnowledgeGraph, iris: list[str]) -> Section:
    rows: dict[str, dict[str, Cell]] = defaultdict(dict)
    for row in _each(kg, "feature-matrix", iris):
        service = row["service"]
        label = row["featureLabel"][:1].upper() + row["featureLabel"][1:]
        if row["feature"] == str(MLC.jupyterFlavour):
            rows[label][service] = Cell(row["detail"], service, str(MLC.jupyterFlavour))
            continue
        mark = CHECK if row.get("supported") else CROSS
        text = f"{mark} {row['detail']}" if row.get("detail") else mark
        prop = MLC.hasFeature if row.get("supported") else MLC.lacksFeature
        rows[label][service] = Cell(text, service, str(prop), row["feature"], link=row.get("detailUrl"))
    return Section("Features", [ComparisonRow(label, rows[label]) for label in sorted(rows)])


def _capabilities(kg: KnowledgeGraph, iris: list[str]) -> Section:
    rows = []
    held = {iri: set(kg.capabilities(iri)) for iri in iris}
    for capability in kg.capabilities_known():
        label = kg.rules.labels.get(capability, compact(capability))
        cells = {iri: Cell("✔️" if capability in held[iri] else "—", iri, capability=capability) for iri in iris}
        rows.append(ComparisonRow(label[:1].upper() + label[1:], cells))
    return Section("Capabilities (derived by the reasoner)", rows)


def _attach_sources(kg: KnowledgeGraph, sections: list[Section]) -> None:
    """The sources of every asserted cell: the passages stating its statement. The graphs holding each statement
    are found by index look-ups, then one query describes those graphs (a single query joining every statement
    with GRAPH ?graph took most of the time of a comparison)."""
    cells = [c for s in sections for r in s.rows for c in r.cells.values() if c.subject and c.predicate]
    if not cells:
        return
    holding = kg.store.graphs_holding(sorted({(c.subject, c.predicate, c.object) for c in cells}, key=str))
    # A source of another date does not vouch for this date's value.
    in_effect = kg.store.passages_in_effect(g for found in holding.values() for g in found)
    graphs = {key: sorted(g for g in found if g in in_effect) for key, found in holding.items()}
    named = sorted({g for found in graphs.values() for g in found})
    if not named:
        return
    rows = kg.query(f"""
        PREFIX mlc: <https://w3id.org/mlcloudkg/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?graph ?title ?locator ?asOf ?status WHERE {{
          VALUES ?graph {{ {" ".join(f"<{g}>" for g in named)} }}
          ?graph a mlc:SourcedGraph ; prov:wasDerivedFrom/dcterms:title ?title ; mlc:sourceLocator ?locator ;
                 mlc:epistemicStatus/rdfs:label ?status .
          OPTIONAL {{ ?graph mlc:asOf ?asOfDate }} OPTIONAL {{ ?graph mlc:validFrom ?validFrom }}
          BIND(STR(COALESCE(?asOfDate, ?validFrom)) AS ?asOf)
        }}""")
    described: dict[str, Source] = {}
    for row in rows:
        described.setdefault(
            row["graph"], Source(row["graph"], row["title"], row["locator"], row.get("asOf"), row["status"])
        )
    for cell in cells:
        found = graphs[(cell.subject, cell.predicate, cell.object)]
        cell.sources = [described[g] for g in found if g in described]
