"""Load step: read the ontology, the shapes and the data files, with exact positions for syntax errors."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Node, URIRef
from rdflib.namespace import XSD

from mlcloudkg.build_code import PACKAGE, build_libraries, build_modules
from mlcloudkg.config import Settings
from mlcloudkg.errors import SourceSyntaxError

ONTOLOGY_FILE = "mlcloud.ttl"
SHAPES_FILE = "shapes.ttl"
DATA_SUFFIX = ".trig"
# Data in these formats cannot carry a named graph per passage, so its facts would have no provenance.
OTHER_RDF_SUFFIXES = {".ttl", ".nt", ".nq", ".n3", ".rdf", ".owl", ".jsonld", ".xml"}

_POSITION = re.compile(r"at line (\d+)(?: between columns (\d+) and \d+| column (\d+))?:?\s*")


@dataclass(frozen=True)
class SourceFile:
    """One parsed file: where it is, how to name it in messages, its text and its quads."""

    path: Path
    display: str
    text: str
    quads: tuple[ox.Quad, ...]


@dataclass(frozen=True)
class Sources:
    """Everything a build reads. `digest` changes whenever any input or the code that builds from it does."""

    ontology: SourceFile
    shapes: SourceFile
    data: tuple[SourceFile, ...]
    stray_files: tuple[str, ...]
    digest: str


def source_paths(settings: Settings) -> list[Path]:
    """The files a build reads, in a stable order."""
    ontology_dir = settings.ontology_dir
    paths = [ontology_dir / ONTOLOGY_FILE, ontology_dir / SHAPES_FILE]
    paths += sorted(ontology_dir.glob("rules/*.rq"))
    paths += sorted(settings.data_dir.glob(f"*{DATA_SUFFIX}"))
    return paths


def sources_digest(settings: Settings) -> str:
    """A hash of every input of a build, of the code that builds from it and of the versions of the libraries that
    code uses (build_code.py), cheap enough for every start."""
    digest = hashlib.sha256(b"mlcloudkg build\n")
    for name, version in build_libraries():
        digest.update(f"{name} {version}\n".encode())
    for path in _digested(settings):
        name = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.relative_to(settings.root)
        digest.update(name.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _digested(settings: Settings) -> list[Path]:
    return [*source_paths(settings), *build_modules()]


class WatchedDigest:
    """sources_digest for those who ask every few seconds (the rebuild watcher, /healthz): hashed again only when a
    file is added or removed or changes size or modification time. Hashing the 41 MB of the 1M-triple benchmark
    data takes 80 ms; a look at the files' metadata, well under 1 ms. A build always hashes the contents."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._digest = ""

    def digest(self) -> str:
        """The digest of the sources as they are now; raises OSError if a file vanishes while being read."""
        seen = tuple((str(path), (st := path.stat()).st_size, st.st_mtime_ns) for path in _digested(self.settings))
        with self._lock:
            if seen != self._seen:
                self._digest, self._seen = sources_digest(self.settings), seen
            return self._digest


def load_sources(settings: Settings) -> Sources:
    """Parse every input file; the first syntax error stops the load with its file, line and column."""
    ontology = load_ontology(settings)
    shapes = _parse(settings, settings.ontology_dir / SHAPES_FILE, ox.RdfFormat.TURTLE)
    data = tuple(
        _parse(settings, path, ox.RdfFormat.TRIG) for path in sorted(settings.data_dir.glob(f"*{DATA_SUFFIX}"))
    )
    stray = tuple(
        _display(settings, path)
        for path in sorted(settings.data_dir.iterdir())
        if path.is_file() and path.suffix.lower() in OTHER_RDF_SUFFIXES
    )
    return Sources(ontology, shapes, data, stray, sources_digest(settings))


def load_ontology(settings: Settings) -> SourceFile:
    """Parse the ontology alone (what the rules are compiled from)."""
    return _parse(settings, settings.ontology_dir / ONTOLOGY_FILE, ox.RdfFormat.TURTLE)


def _display(settings: Settings, path: Path) -> str:
    try:
        return path.relative_to(settings.root).as_posix()
    except ValueError:
        return str(path)


def _parse(settings: Settings, path: Path, rdf_format: ox.RdfFormat) -> SourceFile:
    display = _display(settings, path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise SourceSyntaxError(Path(display), None, None, "the file does not exist") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise SourceSyntaxError(Path(display), line, None, "the file is not UTF-8") from error
    try:
        quads = tuple(ox.parse(raw, format=rdf_format, base_iri=None))
    except SyntaxError as error:
        raise SourceSyntaxError(Path(display), *_position(error)) from error
    return SourceFile(path, display, text, quads)


def _position(error: SyntaxError) -> tuple[int | None, int | None, str]:
    message = str(error.msg if hasattr(error, "msg") else error)
    match = _POSITION.search(message)
    line = error.lineno or (int(match.group(1)) if match else None)
    column = error.offset or (
        int(match.group(2) or match.group(3)) if match and (match.group(2) or match.group(3)) else None
    )
    detail = _POSITION.sub("", message).removeprefix("Parser error ").strip() or message
    return line, column, detail


def to_rdflib(statements: Iterable[ox.Quad | ox.Triple]) -> Graph:
    """The statements' triples as an rdflib Graph (for pySHACL and owlrl, which work on rdflib)."""
    graph = Graph()
    converted: dict[object, Node] = {}  # a term recurs in many triples; convert it once

    def convert(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
        node = converted.get(term)
        if node is None:
            node = converted[term] = rdflib_term(term)
        return node

    graph.addN((convert(s.subject), convert(s.predicate), convert(s.object), graph) for s in statements)
    return graph


def rdflib_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """The rdflib term of an Oxigraph term, as rdflib's own parsers would make it."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == str(XSD.string):
        return Literal(term.value)  # rdflib keeps plain strings without a datatype
    return Literal(term.value, datatype=URIRef(term.datatype.value))
