"""HTML pages: one way to render a template into a cacheable response, and what every template can use."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, url_for
from markupsafe import Markup, escape

from mlcloudkg.cells import CHECK, CROSS
from mlcloudkg.namespaces import compact
from mlcloudkg.web.assets import library_version
from mlcloudkg.web.http import HTML, cacheable, entity_tag, not_modified, not_modified_response
from mlcloudkg.web.links import explain_url, local_url, query_page_url
from mlcloudkg.web.live import Served


def served() -> Served:
    """The build this request is answered from."""
    return current_app.extensions["mlcloudkg"].current()


def page(template: str, *, varies: tuple[object, ...] = (), **context: Any) -> Response:
    """Render `template` for the served build. A page depends only on the build, its URL, the day (facts are
    flagged as possibly outdated counting back from today) and `varies` (anything else it shows), so it carries an
    ETag and Last-Modified like every other response, and a conditional request gets 304 without rendering."""
    build = served()
    etag = entity_tag("page", build.version, request.full_path, template, date.today().isoformat(), *varies)
    if not_modified(etag, build.last_modified):
        return not_modified_response(etag, build.last_modified)
    body = render_template(template, **context)
    response = Response(body, content_type=f"{HTML}; charset=utf-8")
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
    return cacheable(response, etag, build.last_modified)


# Ticks and crosses as text with a name (emoji need a colour font and are read out oddly by screen readers).
MARKS = {
    CHECK: Markup('<span class="mark yes" role="img" aria-label="yes">✓</span>'),
    CROSS: Markup('<span class="mark no" role="img" aria-label="no">✗</span>'),
}


def marks(text: str) -> Markup:
    """`text`, escaped, with the tables' tick and cross emoji as marks."""
    shown = escape(text)
    for emoji, mark in MARKS.items():
        shown = Markup(shown.replace(escape(emoji), mark))
    return shown


def register(app: Flask) -> None:
    """Globals of every template: the served build, and how to link a term of the graph."""

    @app.context_processor
    def build_details() -> dict[str, Any]:
        build = served()
        return {"build": build.version, "built_at": build.release.built_at.isoformat()}

    def vendor_url(name: str, filename: str) -> str:
        return url_for("assets.vendor", name=name, version=library_version(name), filename=filename)

    app.jinja_env.globals.update(
        local_url=local_url,
        explain_url=explain_url,
        query_page_url=query_page_url,
        compact=compact,
        vendor_url=vendor_url,
    )
    app.jinja_env.filters["marks"] = marks
    # Templates are ours and change only with the code: no need to stat them on every request.
    app.jinja_env.auto_reload = False
