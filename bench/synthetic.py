"""Synthetic data of our ontology's shape, at any size: services with free and paid plans, runtimes, GPU models,
prices in several currencies and billing units with their history (hourly prices re-observed month by month, each
observation complete for the plan's price), features, storage upgrades, and a source passage per fact group.

The data is random but seeded (the same size and seed give the same file) and valid against ontology/shapes.ttl.

    python -m bench.synthetic --triples 100000 --out /tmp/synthetic-100k.trig
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

PREFIXES = """@prefix mlc: <https://w3id.org/mlcloudkg/ontology#> .
@prefix kg: <https://w3id.org/mlcloudkg/id/> .
@prefix syn: <https://w3id.org/mlcloudkg/source/synthetic/> .
@prefix schema: <https://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
FEATURES = [
    "CommandLineInterface",
    "GitHubIntegration",
    "PersistentStorage",
    "NotebookSharing",
    "HyperparameterTuning",
    "ModelRepository",
    "ModelDeployment",
    "ProjectManagement",
    "BigQueryIntegration",
    "MetricsLogging",
    "ExperimentTracking",
    "Showcase",
]
ARCHITECTURES = [
    ("kepler", "Kepler", False),
    ("maxwell", "Maxwell", False),
    ("pascal", "Pascal", False),
    ("volta", "Volta", True),
    ("turing", "Turing", True),
    ("ampere", "Ampere", True),
    ("hopper", "Hopper", True),
]
CURRENCIES = ["USD", "USD", "USD", "EUR", "SGD", "GBP"]
TRIPLES_PER_SERVICE = 125  # measured average of one service and its passages; sizes the output
HISTORY_LENGTH = 6  # at most this many later observations of an hourly price
LAST_OBSERVATION = date(2026, 11, 1)


def generate(target_triples: int, seed: int = 7) -> Iterator[str]:
    """TriG text, in chunks, for about `target_triples` triples (facts and provenance together)."""
    rng = random.Random(seed)
    yield PREFIXES
    yield from _gpu_pool(rng)
    for index in range(max(1, target_triples // TRIPLES_PER_SERVICE)):
        yield from _service(rng, index)


def _passage(graph: str, source: str, locator: str, as_of: date, body: str, *, complete_for: str = "") -> str:
    complete = f" ;\n    mlc:completeFor {complete_for}" if complete_for else ""
    return (
        f'{graph} a mlc:SourcedGraph ; prov:wasDerivedFrom {source} ; mlc:sourceLocator "{locator}" ;\n'
        f'    mlc:quote "(synthetic) {locator}" ; mlc:asOf "{as_of.isoformat()}"^^xsd:date ;\n'
        f"    mlc:epistemicStatus mlc:Stated{complete} .\n{graph} {{\n{body}}}\n"
    )


def _gpu_pool(rng: random.Random) -> Iterator[str]:
    yield (
        'syn:gpu-catalogue a schema:WebPage, prov:Entity ; dcterms:title "Synthetic GPU catalogue" ;\n'
        "    schema:url <https://gpus.example/> .\n"
    )
    body = ['    kg:syn-vendor a schema:Organization ; schema:name "Synthetic GPU vendor" .\n']
    for slug, name, _ in ARCHITECTURES:
        body.append(f'    kg:syn-arch-{slug} a mlc:GPUArchitecture ; schema:name "{name}" .\n')
    for number in range(24):
        slug, _, tensor = ARCHITECTURES[number % len(ARCHITECTURES)]
        memory = rng.choice([8, 12, 16, 24, 32, 40, 48, 80])
        body.append(
            f'    kg:syn-gpu-{number} a mlc:GPUModel ; schema:name "Synthetic GPU {number}" ;\n'
            f"        schema:manufacturer kg:syn-vendor ; mlc:gpuArchitecture kg:syn-arch-{slug} ;\n"
            f"        mlc:hasTensorCores {'true' if tensor else 'false'} ; mlc:gpuMemory kg:syn-gpu-{number}-memory .\n"
            f"    kg:syn-gpu-{number}-memory a schema:QuantitativeValue ; schema:value {memory} ; "
            f'schema:unitCode "E34" .\n'
        )
    yield _passage("syn:gpu-catalogue-table", "syn:gpu-catalogue", "GPU table", date(2024, 1, 1), "".join(body))


def _service(rng: random.Random, index: int) -> Iterator[str]:
    service, source = f"kg:syn-service-{index}", f"syn:service-{index}-page"
    as_of = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 2500))
    yield (
        f'{source} a schema:WebPage, prov:Entity ; dcterms:title "Pricing page of synthetic service {index}" ;\n'
        f"    schema:url <https://service-{index}.example/pricing> .\n"
    )
    plans = [_free_plan(rng, index)] if rng.random() < 0.7 else []
    paid = [_paid_plan(rng, index, number) for number in range(rng.randint(1, 3))]
    plans += [(plan, text) for plan, text, _ in paid]
    body = [
        f'    {service} a mlc:NotebookService ; schema:name "Synthetic service {index}" ;\n'
        f"        schema:url <https://service-{index}.example/> ;\n"
        f"        mlc:offersPlan {', '.join(plan for plan, _ in plans)} .\n"
    ]
    body += [text for _, text in plans]
    yield _passage(f"syn:service-{index}-plans", source, "plans table", as_of, "".join(body))
    for plan, _, hourly in paid:
        if hourly is not None:
            yield from _price_history(rng, plan, source, as_of, hourly)
    features = rng.sample(FEATURES, rng.randint(2, 8))
    has, lacks = features[: len(features) // 2 + 1], features[len(features) // 2 + 1 :]
    statements = [f"    {service} mlc:hasFeature {', '.join('mlc:' + f for f in has)} .\n"]
    if lacks:
        statements.append(f"    {service} mlc:lacksFeature {', '.join('mlc:' + f for f in lacks)} .\n")
    yield _passage(f"syn:service-{index}-features", source, "feature list", as_of, "".join(statements))
    if rng.random() < 0.5:
        capacity, price = rng.choice([(100, "2.99"), (200, "4.99"), (1000, "9.99")])
        upgrade = f"kg:syn-service-{index}-storage"
        text = (
            f"    {service} mlc:storageUpgrade {upgrade} .\n"
            f'    {upgrade} a mlc:StorageUpgrade ; schema:name "{capacity} GB storage" ;\n'
            f"        mlc:storageCapacity {upgrade}-capacity ; schema:priceSpecification {upgrade}-price .\n"
            f'    {upgrade}-capacity a schema:QuantitativeValue ; schema:value {capacity} ; schema:unitCode "E34" .\n'
            f"    {upgrade}-price a schema:UnitPriceSpecification ; schema:price {price} ; "
            f'schema:priceCurrency "USD" ; schema:unitCode "MON" .\n'
        )
        yield _passage(f"syn:service-{index}-storage", source, "storage add-ons", as_of, text)


def _runtime(rng: random.Random, runtime: str, gpu: bool) -> str:
    lines = [f'    {runtime} a mlc:Runtime ; schema:name "Synthetic runtime" ;\n']
    if gpu:
        models = ", ".join(f"kg:syn-gpu-{n}" for n in rng.sample(range(24), rng.randint(1, 4)))
        policy = rng.choice(["mlc:RandomAssignment", "mlc:UserChoice"])
        lines.append(
            f"        mlc:gpuModel {models} ; mlc:gpuAssignment {policy} ; "
            f"mlc:gpuCount {rng.choice([1, 1, 1, 2, 4])} ;\n"
        )
    else:
        lines.append("        mlc:gpuCount 0 ;\n")
    ram, hours = rng.choice([8, 12, 16, 30, 32, 64]), rng.choice([4, 6, 8, 12, 24])
    lines.append(
        f"        mlc:vcpuCount {rng.choice([2, 4, 8, 16])} ; mlc:storagePersistent "
        f"{rng.choice(['true', 'false'])} ;\n"
        f"        mlc:memory {runtime}-ram ; mlc:maxSessionDuration {runtime}-session .\n"
        f'    {runtime}-ram a schema:QuantitativeValue ; schema:value {ram} ; schema:unitCode "E34" .\n'
        f"    {runtime}-session a schema:QuantitativeValue ; schema:maxValue {hours} ; "
        f'schema:unitCode "HUR" .\n'
    )
    return "".join(lines)


def _free_plan(rng: random.Random, index: int) -> tuple[str, str]:
    plan, runtime = f"kg:syn-service-{index}-free", f"kg:syn-service-{index}-free-runtime"
    sharing = rng.choice(["mlc:PublicNotebooks", "mlc:PrivateNotebooks, mlc:PublicNotebooks"])
    text = (
        f'    {plan} a mlc:Plan ; schema:name "Free tier" ; mlc:pricingModel mlc:FreeTier ;\n'
        f"        mlc:allowsSharingMode {sharing} ; mlc:providesRuntime {runtime} .\n"
    )
    return plan, text + _runtime(rng, runtime, gpu=rng.random() < 0.6)


def _price_history(rng: random.Random, plan: str, source: str, since: date, hourly: tuple[float, str]) -> Iterator[str]:
    """Later observations of an hourly price, on the first of a month: each lists the plan's whole price, so it
    supersedes the one before (mlc:completeFor schema:priceSpecification)."""
    price, currency = hourly
    month = date(since.year, since.month, 1)
    for _ in range(rng.randint(0, HISTORY_LENGTH)):
        month = _months_later(month, rng.randint(1, 12))
        if month > LAST_OBSERVATION:
            return
        price = max(0.05, round(price * rng.uniform(0.8, 1.15), 2))
        spec = f"{plan}-price-{month.isoformat()}"
        body = (
            f"    {plan} schema:priceSpecification {spec} .\n"
            f"    {spec} a schema:UnitPriceSpecification ; schema:price {price} ; "
            f'schema:priceCurrency "{currency}" ; schema:unitCode "HUR" .\n'
        )
        graph = f"{plan.replace('kg:', 'syn:')}-price-{month.isoformat()}"
        yield _passage(
            graph, source, f"price list of {month:%B %Y}", month, body, complete_for="schema:priceSpecification"
        )


def _months_later(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _paid_plan(rng: random.Random, index: int, number: int) -> tuple[str, str, tuple[float, str] | None]:
    """The plan's IRI, its TriG, and (price, currency) when it is billed by the hour (then its price has a history)."""
    plan = f"kg:syn-service-{index}-plan-{number}"
    runtime, price = f"{plan}-runtime", f"{plan}-price"
    currency = rng.choice(CURRENCIES)
    kind = rng.choice(["Subscription", "PayAsYouGo", "PrepaidPackage", "Compound"])
    if kind == "Subscription":
        spec = (
            f"    {price} a schema:UnitPriceSpecification ; schema:price {rng.randint(5, 99)}.99 ; "
            f'schema:priceCurrency "{currency}" ; schema:unitCode "MON" .\n'
        )
    elif kind == "PayAsYouGo":
        hourly = rng.randint(10, 400) / 100
        spec = (
            f"    {price} a schema:UnitPriceSpecification ; schema:price {hourly} ; "
            f'schema:priceCurrency "{currency}" ; schema:unitCode "HUR" .\n'
        )
    elif kind == "PrepaidPackage":
        spec = (
            f"    {price} a schema:UnitPriceSpecification ; schema:price {rng.choice([10, 20, 50])} ; "
            f'schema:priceCurrency "{currency}" ; schema:referenceQuantity {price}-hours .\n'
            f"    {price}-hours a schema:QuantitativeValue ; schema:value {rng.choice([50, 100, 250])} ; "
            f'schema:unitCode "HUR" .\n'
        )
    else:
        spec = (
            f'    {price} a schema:CompoundPriceSpecification ; schema:priceCurrency "{currency}" ;\n'
            f"        schema:priceComponent {price}-fee, {price}-hourly .\n"
            f"    {price}-fee a schema:UnitPriceSpecification ; schema:price {rng.randint(5, 20)} ; "
            f'schema:priceCurrency "{currency}" ; schema:unitCode "MON" .\n'
            f"    {price}-hourly a schema:UnitPriceSpecification ; schema:price {rng.randint(20, 300) / 100} ; "
            f'schema:priceCurrency "{currency}" ; schema:unitCode "HUR" .\n'
        )
    model = "PayAsYouGo" if kind == "Compound" else kind
    sharing = rng.choice(["mlc:PrivateNotebooks", "mlc:PrivateNotebooks, mlc:PublicNotebooks"])
    text = (
        f'    {plan} a mlc:Plan ; schema:name "Plan {number}" ; mlc:pricingModel mlc:{model} ;\n'
        f"        mlc:allowsSharingMode {sharing} ; mlc:providesRuntime {runtime} ;\n"
        f"        schema:priceSpecification {price} .\n{spec}"
    )
    history = (hourly, currency) if kind == "PayAsYouGo" else None
    return plan, text + _runtime(rng, runtime, gpu=rng.random() < 0.85), history


def write(target_triples: int, path: Path, seed: int = 7) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for chunk in generate(target_triples, seed):
            out.write(chunk)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triples", type=int, required=True, help="about how many triples to generate")
    parser.add_argument("--out", type=Path, required=True, help="the TriG file to write")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed and size, same file)")
    arguments = parser.parse_args()
    write(arguments.triples, arguments.out, arguments.seed)


if __name__ == "__main__":
    main()
