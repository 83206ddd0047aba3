"""The `mlcloudkg` command line. Every command has --help; errors go to stderr with a non-zero exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from mlcloudkg import __version__
from mlcloudkg.config import (
    MAX_PUBLISH_JOBS,
    PUBLISH_JOBS,
    PUBLISH_PART_STATEMENTS,
    PUBLISH_TIMEOUT_SECONDS,
    Settings,
)
from mlcloudkg.errors import MlcloudkgError, ValidationFailed

if TYPE_CHECKING:
    import pyoxigraph as ox

    from mlcloudkg.api import KnowledgeGraph
    from mlcloudkg.build import Build
    from mlcloudkg.store import QueryResult

Command = TypeVar("Command", bound=Callable[..., Any])
EXIT_CODES = """\b
Exit codes: 0 done; 1 unexpected failure; 2 bad input (usage, a parameter, a query, a query file);
3 the data does not validate; 4 nothing built yet, or nothing published in the store; 5 a query did not finish
(the time limit, or the endpoint failed), or the store refused or could not be reached."""
QUERY_FORMATS = ("table", "json", "csv", "tsv", "turtle")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="mlcloudkg")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project directory with ontology/, data/ and queries/ [env MLCLOUDKG_ROOT; default: this checkout].",
)
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where builds are kept [env MLCLOUDKG_BUILD_DIR; default: build/ in the project].",
)
@click.pass_context
def cli(context: click.Context, root: Path | None, build_dir: Path | None) -> None:
    """A knowledge graph of cloud GPU notebook services: build it, check it, query it, serve it.

    The commands that read the graph use the local build (built first if the sources changed), or, with
    --endpoint URL, any SPARQL 1.1 endpoint serving it."""
    context.obj = Settings.from_env(root=root, build_dir=build_dir)


def graph_source(command: Command) -> Command:
    """The --endpoint and --timeout options of every command that reads the graph."""
    command = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        default=None,
        help="Seconds a query may take (on the endpoint, or for `query` on the local build) "
        "[env MLCLOUDKG_QUERY_TIMEOUT; default 10].",
    )(command)
    return click.option(
        "--endpoint",
        metavar="URL",
        default=None,
        help="Read the graph from this SPARQL 1.1 endpoint (e.g. http://127.0.0.1:5000/sparql) instead of the "
        "local build.",
    )(command)


def text_or_json(command: Command) -> Command:
    """The --format option of the commands that answer people (text) or programs (json)."""
    return click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text for people, json for programs.",
    )(command)


def as_of_option(command: Command) -> Command:
    """The --as-of option of every command that answers from the graph's state."""
    return click.option(
        "--as-of",
        "as_of",
        metavar="YYYY-MM-DD",
        default=None,
        help="Answer for the state on this date instead of the latest known state.",
    )(command)


def open_graph(
    settings: Settings, endpoint: str | None, timeout: float | None, as_of: str | None = None
) -> KnowledgeGraph:
    from mlcloudkg.api import KnowledgeGraph

    kg = KnowledgeGraph.remote(endpoint, settings, timeout=timeout) if endpoint else KnowledgeGraph.embedded(settings)
    return kg.as_of(as_of) if as_of else kg


def name_values(items: tuple[str, ...], option: str) -> dict[str, str]:
    """NAME=VALUE pairs of a repeatable option."""
    values: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=option)
        if name in values:
            raise click.BadParameter(f"{name!r} is given twice", param_hint=option)
        values[name] = value
    return values


# -- build, validate, serve ---------------------------------------------------------------------------------------


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even if the sources are unchanged.")
@click.pass_obj
def build(settings: Settings, force: bool) -> None:
    """Load, validate and reason over the sources; write the store, the downloads and the finder's index.

    An unchanged build (same sources, same version) is reused at once, its finder's index made again if it is
    missing or was made by another release's finder. Malformed files of queries/ are reported
    (file:line) on stderr; they are left out of the API, the other queries work."""
    from mlcloudkg.finder import INDEX_FILE, keep_index_of
    from mlcloudkg.namespaces import SNAPSHOT_PREFIX, SRC
    from mlcloudkg.queries import load_catalog
    from mlcloudkg.served_build import build_to_serve

    outcome = build_to_serve(settings, force=force)
    if outcome.reused:  # its finder's index may be missing, or made by another release's finder: loaded, else read
        keep_index_of(outcome.build)
    state = "up to date" if outcome.reused else "built"
    manifest = outcome.build.manifest
    click.echo(f"{state}: {outcome.build.directory} (digest {outcome.build.digest}, {outcome.seconds:.2f} s)")
    for graph, size in manifest["graphs"].items():
        if not graph.startswith((str(SRC), SNAPSHOT_PREFIX)):
            click.echo(f"  {graph}: {size}")
    click.echo(
        f"  {manifest['passage_graphs']} passage graphs; the latest state is of {manifest['now']}, "
        f"with {len(manifest['snapshots'])} dated snapshots"
    )
    if (outcome.build.directory / INDEX_FILE).is_file():
        click.echo(f"  the finder's index: {INDEX_FILE}")
    catalog, problems = load_catalog(settings.queries_dir)
    click.echo(f"  {len(catalog)} named queries")
    for problem in problems:
        click.echo(f"warning: named query left out: {problem}", err=True)


@cli.command()
@click.pass_obj
def validate(settings: Settings) -> None:
    """Check the ontology and data files (syntax, provenance of every fact, SHACL shapes) and the query files.

    Prints each violation as  file:line — resource — property — what is wrong — what is accepted,
    and each malformed query file as  file:line — what is wrong — what is accepted."""
    from pyoxigraph import DefaultGraph

    from mlcloudkg.queries import MalformedQueries, load_catalog
    from mlcloudkg.sources import load_sources
    from mlcloudkg.validate import validate as run_validate

    sources = load_sources(settings)
    violations = run_validate(sources)
    if violations:
        raise ValidationFailed(violations)
    catalog, problems = load_catalog(settings.queries_dir)
    if problems:
        raise MalformedQueries(problems)
    facts = sum(1 for f in sources.data for q in f.quads if not isinstance(q.graph_name, DefaultGraph))
    click.echo(
        f"valid: {len(sources.data)} data files, {facts} facts, all with provenance; {len(catalog)} named queries"
    )


@cli.command()
@click.option("--host", default=None, help="Address to listen on [env MLCLOUDKG_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env MLCLOUDKG_PORT; default 5000].")
@click.option("--workers", type=int, default=None, help="Web worker processes [env MLCLOUDKG_WORKERS; default 2].")
@click.option(
    "--threads", type=int, default=None, help="Request threads per worker [env MLCLOUDKG_THREADS; default 32]."
)
@click.option(
    "--evaluators",
    type=int,
    default=None,
    help="Query evaluation processes per worker (with --store: with MLCLOUDKG_MAX_WAITING_QUERIES, the queries a "
    "worker sends the store at once) [env MLCLOUDKG_EVALUATORS; default 2].",
)
@click.option(
    "--query-timeout",
    type=float,
    default=None,
    help="Seconds a query may run before it is stopped [env MLCLOUDKG_QUERY_TIMEOUT; default 10].",
)
@click.option(
    "--watch/--no-watch",
    default=None,
    help="Rebuild the graph when its sources change [env MLCLOUDKG_WATCH; default on; not with --store].",
)
@click.option(
    "--store",
    metavar="URL",
    default=None,
    help="Serve the dataset `mlcloudkg publish` loaded into this SPARQL 1.1 query endpoint (e.g. "
    "http://127.0.0.1:7878/query) instead of the local build [env MLCLOUDKG_STORE; credentials: env "
    "MLCLOUDKG_STORE_AUTH=USER:PASSWORD or 'Bearer TOKEN'].",
)
@click.pass_obj
def serve(settings: Settings, **options: object) -> None:
    """Serve the SPARQL endpoint, the REST API (/api, docs at /api/docs), the web pages, downloads, health and
    metrics (gunicorn) until stopped with Ctrl-C or SIGTERM.

    Builds first if the sources changed, and again whenever they change while it serves; a build that fails never
    replaces the last good one, which is served on, and /healthz says why. With --store, serves a published store
    instead (no build, no watching) and picks up a new publish within reload_seconds; any number of such replicas
    can share one store. Every limit is a setting: see the README's "Serving: reliability and security" and
    "Over your own triple store"."""
    from dataclasses import replace

    from mlcloudkg.serve import serve as run

    run(replace(settings, **{k: v for k, v in options.items() if v is not None}))


@cli.command()
@click.option(
    "--to",
    "url",
    metavar="URL",
    required=True,
    help="The store's SPARQL 1.1 Graph Store Protocol URL, e.g. http://127.0.0.1:7878/store (Oxigraph) or "
    "http://127.0.0.1:3030/DATASET/data (Fuseki).",
)
@click.option(
    "--auth",
    metavar="CREDENTIALS",
    envvar="MLCLOUDKG_PUBLISH_AUTH",
    default="",
    show_envvar=True,
    help="USER:PASSWORD (HTTP Basic) or 'Bearer TOKEN', for a store that wants write credentials.",
)
@click.option(
    "--default-graph",
    metavar="IRI",
    envvar="MLCLOUDKG_PUBLISH_DEFAULT_GRAPH",
    show_envvar=True,
    help="Write the default graph to this named graph instead of the store's default graph: for stores whose "
    "default graph is the union of their named graphs (Virtuoso, GraphDB). Services over the store "
    "(serve --store) find it in the version record and query it as their default graph.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, MAX_PUBLISH_JOBS),
    default=PUBLISH_JOBS,
    envvar="MLCLOUDKG_PUBLISH_JOBS",
    show_default=True,
    show_envvar=True,
    help="Graphs sent at once: each is a transaction of the store, which commits several at a time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=PUBLISH_TIMEOUT_SECONDS,
    envvar="MLCLOUDKG_PUBLISH_TIMEOUT",
    show_default=True,
    show_envvar=True,
    help="Seconds the store may take to answer one request: it answers once it has committed what it was sent.",
)
@click.option(
    "--part-statements",
    type=click.IntRange(min=1),
    default=PUBLISH_PART_STATEMENTS,
    envvar="MLCLOUDKG_PUBLISH_PART_STATEMENTS",
    show_default=True,
    show_envvar=True,
    help="The most statements sent in one request; a larger graph goes in parts (PUT, then POSTs), as a store "
    "holds each request's transaction in memory.",
)
@click.pass_obj
def publish(
    settings: Settings,
    *,
    url: str,
    auth: str,
    default_graph: str | None,
    jobs: int,
    timeout: float,
    part_statements: int,
) -> None:
    """Load the built, reasoned dataset into a SPARQL store: every named graph (asserted, inferred, provenance,
    snapshots, passages) and the default graph, each replacing the store's graph of the same name.

    Builds first if the sources changed. Safe to run again on a store in use: graph:provenance, which holds the
    version services over the store read (`serve --store`), is written last, and graphs the new version no longer
    has are removed after it."""
    from mlcloudkg.config import authorization_header
    from mlcloudkg.publish import GraphStoreClient
    from mlcloudkg.publish import publish as run_publish
    from mlcloudkg.served_build import build_to_serve

    client = GraphStoreClient(url, authorization_header(auth, "--auth"), timeout)
    built = build_to_serve(settings).build
    published = run_publish(built, client, default_graph, jobs, part_statements)
    click.echo(
        f"published {published.version} to {url}: {published.graphs} graphs, {published.triples:,} triples "
        f"({published.seconds:.1f} s)"
    )
    for graph in published.removed:
        click.echo(f"  removed {graph} (not in this version)")


# -- reading the graph ----------------------------------------------------------------------------------------------


@cli.command()
@click.argument("text", metavar="[QUERY]", required=False)
@click.option(
    "--file", "-f", "query_file", type=click.File("r"), metavar="FILE", help="Read the query from FILE ('-': stdin)."
)
@click.option("--named", "-n", metavar="NAME", help="Run a query of queries/ by name (see --list).")
@click.option(
    "--param",
    "-p",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the named query, e.g. min_gpu_memory_gb=16 (repeatable).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(QUERY_FORMATS),
    default=None,
    help="table (the default for SELECT and ASK, fitted to the terminal), json (plain rows, as the REST API), "
    "csv or tsv (SPARQL 1.1), turtle (CONSTRUCT and DESCRIBE, the default for them).",
)
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and their parameters.")
@graph_source
@as_of_option
@click.pass_obj
def query(
    settings: Settings,
    *,
    text: str | None,
    query_file: TextIO | None,
    named: str | None,
    parameters: tuple[str, ...],
    output: str | None,
    list_queries: bool,
    endpoint: str | None,
    timeout: float | None,
    as_of: str | None,
) -> None:
    """Run a SPARQL query: given inline, read from a file, or a named query of queries/ with its parameters.

    On the local build the query runs in a worker process, stopped at --timeout, with the service's result-size
    limit.

    \b
    mlcloudkg query 'SELECT ?name WHERE { ?s a <https://w3id.org/mlcloudkg/ontology#NotebookService> ;
                                              <https://schema.org/name> ?name }'
    mlcloudkg query --file my-question.rq --format csv
    mlcloudkg query --named free-gpus --param min_gpu_memory_gb=16
    mlcloudkg query --endpoint http://127.0.0.1:5000/sparql --named services --format json"""
    from mlcloudkg.queries import load_catalog
    from mlcloudkg.store import GraphStore, WorkerStore

    if list_queries:
        catalog, problems = load_catalog(settings.queries_dir)
        for problem in problems:
            click.echo(f"warning: named query left out: {problem}", err=True)
        for name, found in catalog.items():
            click.echo(f"{name}: {found.title}")
            for p in found.parameters:
                default = f" = {p.default}" if p.default is not None else ""
                need = " (required)" if p.required else ""
                click.echo(f"    {p.name} {p.type}{default}{need} — {p.description}")
        return
    given = [source for source in (text, query_file, named) if source]
    if len(given) != 1:
        raise click.UsageError("give one query: as an argument, with --file, or with --named (see --list)")
    if parameters and not named:
        raise click.UsageError("--param is for a named query (--named NAME)")
    kg = open_graph(settings, endpoint, timeout, as_of)
    if named:
        sparql = kg.named_query(named).bind(name_values(parameters, "--param"))
    else:
        sparql = text or (query_file.read() if query_file else "")
    if endpoint or not isinstance(kg.store, GraphStore) or kg.store.build is None:
        _print_result(kg.store.evaluate(sparql), output)  # a remote store, or a state computed in memory
        return
    # The local build: in a worker process stopped at the time limit, as the service runs queries.
    store = WorkerStore(
        kg.store.build,
        timeout or settings.query_timeout,
        settings.max_result_bytes,
        settings.max_query_memory_bytes,
        kg.store.default_graph,
    )
    try:
        _print_result(store.evaluate(sparql), output)
    finally:
        store.close()


def _print_result(result: QueryResult, output: str | None) -> None:
    """A query's answer in the chosen format (each query form has its default and its formats)."""
    import pyoxigraph as ox

    from mlcloudkg.namespaces import PREFIXES
    from mlcloudkg.results import plain_json

    is_graph = not isinstance(result, ox.QuerySolutions | ox.QueryBoolean)
    output = output or ("turtle" if is_graph else "table")
    if is_graph != (output == "turtle"):
        accepted = "turtle" if is_graph else "table, json, csv, tsv"
        form = "CONSTRUCT/DESCRIBE" if is_graph else "SELECT/ASK"
        raise click.UsageError(f"--format {output} is not a format for a {form} answer — accepted: {accepted}")
    stdout = click.get_binary_stream("stdout")
    if isinstance(result, ox.QueryBoolean):
        click.echo(json.dumps(bool(result)))
    elif is_graph:
        stdout.write(ox.serialize(result, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES))  # type: ignore[arg-type]
    elif output == "json":
        click.echo(plain_json(result, indent=2))
    elif output in {"csv", "tsv"}:
        stdout.write(
            result.serialize(format=ox.QueryResultsFormat.CSV if output == "csv" else ox.QueryResultsFormat.TSV)
        )
    else:
        _print_solutions(result)


def _print_solutions(result: ox.QuerySolutions) -> None:
    from mlcloudkg.namespaces import compact
    from mlcloudkg.store import python_value, solution_rows
    from mlcloudkg.terminal import table, terminal_width

    names = [variable.value for variable in result.variables]
    rows = solution_rows(result)

    def cell(row: dict[str, Any], name: str) -> str:
        if name not in row:
            return ""
        value = python_value(row[name])
        if isinstance(value, bool):
            return str(value).lower()
        text = str(value)
        return compact(text) if text.startswith(("http://", "https://")) else text

    click.echo(table(names, [[cell(row, name) for name in names] for row in rows], terminal_width()))
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


@cli.command()
@click.argument("providers", nargs=-1, metavar="SERVICE...")
@text_or_json
@graph_source
@as_of_option
@click.pass_obj
def compare(
    settings: Settings,
    *,
    providers: tuple[str, ...],
    output: str,
    endpoint: str | None,
    timeout: float | None,
    as_of: str | None,
) -> None:
    """Compare services side by side: what they are, the free GPU tier, plans, features, derived capabilities.

    SERVICE is an IRI, a prefixed or a bare name, e.g.  mlcloudkg compare google-colab paperspace-gradient
    The table fits the terminal; --format json adds the statement behind each cell and its sources."""
    from mlcloudkg.compare import MAX_COMPARED, some_of
    from mlcloudkg.namespaces import compact
    from mlcloudkg.terminal import table, terminal_width

    kg = open_graph(settings, endpoint, timeout, as_of)
    if not providers:
        known = some_of([compact(iri).removeprefix("kg:") for iri, _ in kg.services()])
        raise click.UsageError(f"name one to {MAX_COMPARED} services to compare — accepted: {known}")
    comparison = kg.compare(*providers)
    if output == "json":
        click.echo(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False))
        return
    headers = ["", *(name for _, name in comparison.services)]
    for section in comparison.sections:
        rows = [
            [row.label, *(row.cells[iri].text if iri in row.cells else "" for iri, _ in comparison.services)]
            for row in section.rows
        ]
        click.echo(f"{section.title}\n")
        click.echo(table(headers, rows, terminal_width()) + "\n")


def finder_options(command: Command) -> Command:
    """One option per requirement of the finder (a flag for each need, a number for each threshold), then the page."""
    from mlcloudkg.finder import Page, Requirements, is_number

    for shown in reversed(fields(Page)):
        flag = "--" + shown.name.replace("_", "-")
        command = click.option(flag, shown.name, metavar="N", help=shown.metadata["help"])(command)
    for requirement in reversed(fields(Requirements)):
        flag = "--" + requirement.name.replace("_", "-")
        if is_number(requirement):
            command = click.option(flag, requirement.name, metavar="NUMBER", help=requirement.metadata["help"])(command)
        else:
            command = click.option(flag, requirement.name, is_flag=True, help=requirement.metadata["help"])(command)
    return command


@cli.command()
@finder_options
@text_or_json
@click.option("--show-query", is_flag=True, help="Also print the SPARQL query that selects the same services.")
@graph_source
@as_of_option
@click.pass_obj
def find(
    settings: Settings,
    *,
    output: str,
    show_query: bool,
    endpoint: str | None,
    timeout: float | None,
    as_of: str | None,
    **requirements: Any,
) -> None:
    """Find the services that meet your requirements, and what every other service lacks.

    Requirements about a plan must hold on the same plan, e.g. a free, private notebook with a 16 GB GPU:

        mlcloudkg find --free --private-notebooks --min-gpu-memory-gb 16

    Both lists are in name order, shown a page at a time (--limit, --offset, --others-offset)."""
    from mlcloudkg.errors import InvalidParameter
    from mlcloudkg.finder import find, parse

    given = {name: str(value).lower() for name, value in requirements.items() if value not in (None, False)}
    try:
        wanted, shown = parse(given)
    except InvalidParameter as error:
        option = "--" + error.parameter.replace("_", "-")
        raise click.BadParameter(f"{error.problem} — accepted: {error.accepted}", param_hint=option) from None
    found = find(open_graph(settings, endpoint, timeout, as_of), wanted, shown)
    if output == "json":
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return
    described = "; ".join(wanted.described()) or "none given"
    click.echo(f"Requirements: {described}\n")
    click.echo(f"Meet every requirement ({_window(found.match_count, shown.offset, len(found.matches))}):")
    for candidate in found.matches:
        click.echo(f"  {candidate.name}")
    if found.other_count:
        others = _window(found.other_count, shown.others_offset, len(found.others))
        click.echo(f"\nThe others, and what they do not meet ({others}):")
        for candidate in found.others:
            click.echo(f"  {candidate.name}: {'; '.join(candidate.failed)}")
    if show_query:
        click.echo(f"\n{found.query}")


def _window(total: int, skipped: int, shown: int) -> str:
    """How many there are and which of them are shown, e.g. "1300, 51 to 100 shown"."""
    if shown == total:
        return str(total)
    if not shown:
        return f"{total}, none shown after skipping {skipped}"
    return f"{total}, {skipped + 1} to {skipped + shown} shown"


@cli.command()
@click.argument("first", metavar="FROM")
@click.argument("second", metavar="TO", default="now")
@text_or_json
@graph_source
@click.pass_obj
def changes(
    settings: Settings, *, first: str, second: str, output: str, endpoint: str | None, timeout: float | None
) -> None:
    """What changed between two dates (YYYY-MM-DD; TO may be "now"), per service, with the sources.

    mlcloudkg changes 2020-12-17 now"""
    from mlcloudkg.namespaces import compact

    kg = open_graph(settings, endpoint, timeout)
    days = [kg.resolve_date(first, "from"), kg.resolve_date(second, "to")]
    found = kg.changes(*days)
    if output == "json":
        click.echo(
            json.dumps({owner: [change.__dict__ for change in items] for owner, items in found.items()}, indent=2)
        )
        return
    click.echo(f"changes from {days[0]} to {days[1]}")
    for owner, items in sorted(found.items()):
        click.echo(f"\n{compact(owner) if owner != 'other' else 'not about one service'}:")
        for change in items:
            click.echo("  " + _describe(change, compact))


def _describe(change: Any, compact: Any) -> str:
    def show(terms: list[str]) -> str:
        return ", ".join(compact(t[1:-1]) if t.startswith("<") else t for t in terms)

    what = compact(change.subject.strip("<>"))
    named = f" ({change.name})" if change.name else ""
    if change.kind in {"new", "gone"}:
        return f"{change.kind}: {what}{named}, {show(change.after or change.before)}"
    return (
        f"{change.kind}: {what}{named} {compact(change.predicate)}: {show(change.before) or '-'} -> "
        f"{show(change.after) or '-'}"
    )


@cli.command()
@click.argument("resource")
@click.argument("capability")
@click.option(
    "--param",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help="A rule parameter other than its default, e.g. min_session_hours=24 (repeatable).",
)
@text_or_json
@graph_source
@as_of_option
@click.pass_obj
def explain(
    settings: Settings,
    *,
    resource: str,
    capability: str,
    parameters: tuple[str, ...],
    output: str,
    endpoint: str | None,
    timeout: float | None,
    as_of: str | None,
) -> None:
    """Whether RESOURCE has CAPABILITY, and why: the proof down to the sources, or the condition that fails.

    RESOURCE and CAPABILITY are IRIs, prefixed names or bare names, e.g.

        mlcloudkg explain google-colab FreePrivateGPUNotebookService

    `mlcloudkg capabilities` lists the capabilities."""
    given = name_values(parameters, "--param")
    explanation = open_graph(settings, endpoint, timeout, as_of).explain(resource, capability, **given)
    click.echo(
        json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False) if output == "json" else explanation.to_text()
    )


@cli.command()
@click.argument("resource", required=False)
@graph_source
@as_of_option
@click.pass_obj
def capabilities(
    settings: Settings, resource: str | None, endpoint: str | None, timeout: float | None, as_of: str | None
) -> None:
    """List the capabilities (with RESOURCE: those it has)."""
    from mlcloudkg.namespaces import compact

    kg = open_graph(settings, endpoint, timeout, as_of)
    classes = kg.capabilities(resource) if resource else kg.capabilities_known()
    for iri in classes:
        click.echo(f"{compact(iri):45} {kg.rules.labels.get(iri, '')}")


@cli.command()
@graph_source
@as_of_option
@click.pass_obj
def tables(settings: Settings, endpoint: str | None, timeout: float | None, as_of: str | None) -> None:
    """Regenerate the article's tables and list of alternatives (Markdown) from the graph alone.

    With --as-of 2020-12-17 (the article's date) they match the article; without, they show the latest state."""
    from mlcloudkg.tables import article_tables

    click.echo(article_tables(open_graph(settings, endpoint, timeout, as_of)), nl=False)


# -- files ---------------------------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--format",
    "rdf_format",
    type=click.Choice(["turtle", "ntriples", "jsonld", "trig", "nquads"]),
    default="turtle",
    show_default=True,
    help="trig and nquads keep every graph under its name (with its provenance); the others merge them.",
)
@click.option(
    "--graphs",
    type=click.Choice(["all", "asserted", "inferred", "ontology"]),
    default="all",
    show_default=True,
    help="all: asserted and inferred facts (in TriG/N-Quads: every graph, with provenance and the ontology); "
    "asserted: the facts of the sources; inferred: what the reasoner derives; ontology: the ontology.",
)
@click.option(
    "--description",
    is_flag=True,
    help="Write the VoID/DCAT description of the dataset (what /.well-known/void serves) instead of the data.",
)
@click.option(
    "--base-url",
    metavar="URL",
    default=None,
    help="Where the dataset is served, for the description's links [env MLCLOUDKG_PUBLIC_URL; "
    "default http://HOST:PORT of the settings].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output.",
)
@click.pass_obj
def export(
    settings: Settings, *, rdf_format: str, graphs: str, description: bool, base_url: str | None, output: Path | None
) -> None:
    """Write the dataset (the same bytes as the service's downloads) or its VoID/DCAT description, offline.

    \b
    mlcloudkg export -o mlcloudkg.ttl
    mlcloudkg export --format trig -o mlcloudkg.trig
    mlcloudkg export --graphs inferred --format ntriples
    mlcloudkg export --description --base-url https://example.org -o void.ttl"""
    from mlcloudkg.export import EXPORT_FORMATS, serialize
    from mlcloudkg.served_build import build_to_serve
    from mlcloudkg.store import GraphStore

    built = build_to_serve(settings).build
    if description:
        data = _description(
            built, rdf_format, base_url or settings.public_url or f"http://{settings.host}:{settings.port}"
        )
    else:
        data = serialize(GraphStore.open(built).store, graphs, EXPORT_FORMATS[rdf_format])
    if output is None:
        click.get_binary_stream("stdout").write(data)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


def _description(built: Build, rdf_format: str, base_url: str) -> bytes:
    from mlcloudkg.release import Release
    from mlcloudkg.web.description import dataset_description

    syntaxes = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "trig": "trig"}
    if rdf_format not in syntaxes:
        raise click.UsageError(
            f"--format {rdf_format} is not a format for the description — accepted: " + ", ".join(syntaxes)
        )
    return dataset_description(Release.of_build(built), base_url).serialize(format=syntaxes[rdf_format]).encode("utf-8")


def main() -> None:
    """Entry point: run the CLI and turn our errors into a message on stderr and an exit code."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except MlcloudkgError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
