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
        click.echo(f"  {graph}: {size}")


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
