"""The web service: an application factory, one blueprint per area (SPARQL, the REST API, downloads, operations, and
the web UI: the query page, the comparison, finder, explanation and changes pages, resource pages, the ontology's
documentation)."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from flask_compress import Compress
from flask_cors import CORS

from mlcloudkg.config import Settings
from mlcloudkg.web import (
    api,
    assets,
    downloads,
    errors,
    metrics,
    ontology_page,
    ops,
    pages,
    query_page,
    rendering,
    resources,
    sparql,
)
from mlcloudkg.web.live import LiveDataset

# Textual responses worth compressing; downloads are compressed ahead of time (see export.py).
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/tab-separated-values",
    "text/turtle",
    "application/json",
    "application/javascript",
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "application/ld+json",
    "application/rdf+xml",
    "application/n-triples",
    "application/trig",
    "application/n-quads",
    "application/problem+json",
]


def create_app(settings: Settings | None = None, *, live: LiveDataset | None = None) -> Flask:
    """A configured application serving the current build (see LiveDataset)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    # A form-encoded query grows up to three times when percent-encoded; a larger body is refused with 413.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_query_bytes * 3 + 4096
    app.config["COMPRESS_MIMETYPES"] = COMPRESSED_TYPES
    app.config["COMPRESS_MIN_SIZE"] = 1024
    app.config["COMPRESS_ALGORITHM"] = ["gzip"]
    app.extensions["mlcloudkg"] = live or LiveDataset(settings)
    # A public, read-only graph: any origin may read it, never with credentials.
    CORS(
        app,
        origins="*",
        send_wildcard=True,
        supports_credentials=False,
        expose_headers=["ETag", "Server-Timing"],
        max_age=86400,
    )
    Compress(app)
    for blueprint in (
        sparql.blueprint,
        api.blueprint,
        downloads.blueprint,
        ops.blueprint,
        query_page.blueprint,
        pages.blueprint,
        resources.blueprint,
        ontology_page.blueprint,
        assets.blueprint,
    ):
        app.register_blueprint(blueprint)
    rendering.register(app)
    errors.register(app)
    _measure(app)
    return app


def _measure(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response
