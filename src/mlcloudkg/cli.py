"""The `mlcloudkg` command line. Every command has --help; errors go to stderr with a non-zero exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mlcloudkg import __version__
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError, ValidationFailed


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    """A knowledge graph of cloud GPU notebook services: build it, check it, query it, serve it."""
    context.obj = Settings.from_env(root=root, build_dir=build_dir)


@cli.command()
@click.option("--force", is_flag=True, help="Rebuild even if the sources are unchanged.")
@click.pass_obj
def build(settings: Settings, force: bool) -> None:
    """Load, validate and reason over the sources; write the store and the downloads.

    An unchanged build (same sources, same version) is reused at once."""
    from mlcloudkg.build import build as run_build

    outcome = run_build(settings, force=force)
    state = "up to date" if outcome.reused else "built"
    manifest = outcome.build.manifest
    click.echo(f"{state}: {outcome.build.directory} (digest {outcome.build.digest}, {outcome.seconds:.2f} s)")
    for graph, size in manifest["graphs"].items():
        if not graph.startswith("https://w3id.org/mlcloudkg/source/"):
            click.echo(f"  {graph}: {size}")
    click.echo(f"  {manifest['passage_graphs']} passage graphs")


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
    help="Query evaluation processes per worker [env MLCLOUDKG_EVALUATORS; default 2].",
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
    help="Rebuild the graph when its sources change [env MLCLOUDKG_WATCH; default on].",
)
@click.pass_obj
def serve(settings: Settings, **options: object) -> None:
    """Serve the SPARQL endpoint, downloads, health and metrics (gunicorn) until stopped with Ctrl-C or SIGTERM.

    Builds first if the sources changed, and again whenever they change while it serves; a build that fails never
    replaces the last good one, which is served on, and /healthz says why. Every limit is a setting: see the
    README's "Serving: reliability and security"."""
    from dataclasses import replace

    from mlcloudkg.serve import serve as run

    run(replace(settings, **{k: v for k, v in options.items() if v is not None}))


@cli.command()
@click.pass_obj
def validate(settings: Settings) -> None:
    """Check the ontology and data files: syntax, provenance of every fact, SHACL shapes.

    Prints each violation as  file:line — resource — property — what is wrong — what is accepted."""
    from pyoxigraph import DefaultGraph

    from mlcloudkg.sources import load_sources
    from mlcloudkg.validate import validate as run_validate

    sources = load_sources(settings)
    violations = run_validate(sources)
    if violations:
        raise ValidationFailed(violations)
    facts = sum(1 for f in sources.data for q in f.quads if not isinstance(q.graph_name, DefaultGraph))
    click.echo(f"valid: {len(sources.data)} data files, {facts} facts, all with provenance")


@cli.command()
@click.pass_obj
def tables(settings: Settings) -> None:
    """Regenerate the article's tables and list of alternatives (Markdown) from the graph alone."""
    from mlcloudkg.api import KnowledgeGraph
    from mlcloudkg.tables import article_tables

    click.echo(article_tables(KnowledgeGraph.embedded(settings)), nl=False)


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
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def explain(settings: Settings, resource: str, capability: str, parameters: tuple[str, ...], output: str) -> None:
    """Whether RESOURCE has CAPABILITY, and why: the proof down to the sources, or the condition that fails.

    RESOURCE and CAPABILITY are IRIs, prefixed names or bare names, e.g.

        mlcloudkg explain google-colab FreePrivateGPUNotebookService

    `mlcloudkg capabilities` lists the capabilities."""
    import json

    from mlcloudkg.api import KnowledgeGraph

    given = {}
    for item in parameters:
        name, equals, value = item.partition("=")
        if not equals:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        given[name] = value
    explanation = KnowledgeGraph.embedded(settings).explain(resource, capability, **given)
    click.echo(
        json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False) if output == "json" else explanation.to_text()
    )


@cli.command()
@click.argument("resource", required=False)
@click.pass_obj
def capabilities(settings: Settings, resource: str | None) -> None:
    """List the capabilities (with RESOURCE: those it has)."""
    from mlcloudkg.api import KnowledgeGraph
    from mlcloudkg.namespaces import compact

    kg = KnowledgeGraph.embedded(settings)
    classes = kg.capabilities(resource) if resource else kg.capabilities_known()
    for iri in classes:
        click.echo(f"{compact(iri):45} {kg.rules.labels.get(iri, '')}")


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
