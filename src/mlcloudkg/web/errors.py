"""Every error becomes an HTTP response here, and only here: a status, what was wrong and what is accepted.

Plain text by default; RFC 9457 problem+json for clients that prefer JSON, and by default under /api/ (the JSON API);
an HTML page for browsers (they ask for text/html by name) outside the JSON API. Never a traceback or a file path.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from mlcloudkg.errors import InvalidParameter, MlcloudkgError, QueryTimeout, RequestError
from mlcloudkg.web import metrics

log = logging.getLogger(__name__)
JSON_TYPES = ("application/problem+json", "application/json")


def problem(status: int, title: str, detail: str, accepted: str = "", parameter: str = "") -> Response:
    """The error response: an HTML page for browsers outside the JSON API; RFC 9457 problem+json for clients that
    prefer JSON to plain text, and for the JSON API (/api/) unless the client prefers plain text; else plain text."""
    accept = request.accept_mimetypes
    in_api = request.path.startswith("/api/")
    if not in_api and accept.best_match(["text/plain", *JSON_TYPES, "text/html"]) == "text/html":
        page = _page(status, title, detail, accepted)
        if page is not None:
            return page
    as_text = accept.quality("text/plain")
    as_json = max(accept.quality(media_type) for media_type in JSON_TYPES)
    if as_json > as_text or (in_api and as_text <= as_json):
        body: dict[str, object] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        if accepted:
            body["accepted"] = accepted
        if parameter:
            body["parameter"] = parameter
        return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/problem+json")
    text = f"{status} {title}: {detail}\n" + (f"accepted: {accepted}\n" if accepted else "")
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


def _page(status: int, title: str, detail: str, accepted: str) -> Response | None:
    """The error as a page of the site, or None if even that cannot be rendered (then plain text is sent)."""
    try:
        body = render_template("error.html", status=status, title=title, detail=detail, accepted=accepted)
    except Exception:  # the page needs the served build; the error may be that there is none
        log.exception("could not render the error page")
        return None
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def register(app: Flask) -> None:
    @app.errorhandler(RequestError)
    def request_error(error: RequestError) -> Response:
        metrics.errors.labels(type(error).__name__).inc()
        if isinstance(error, QueryTimeout):
            metrics.timeouts.inc()
        response = problem(error.status, error.title, error.problem, error.accepted)
        if error.status == 503:
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(InvalidParameter)
    def invalid_parameter(error: InvalidParameter) -> Response:
        metrics.errors.labels(type(error).__name__).inc()
        detail = f"{error.kind} {error.parameter!r}: {error.problem}"
        return problem(400, "Bad Request", detail, error.accepted, parameter=error.parameter)

    @app.errorhandler(MlcloudkgError)
    def known_error(error: MlcloudkgError) -> Response:
        metrics.errors.labels(type(error).__name__).inc()
        # Errors about a name in the URL's path (an unknown named query) carry their own status: 404.
        status = getattr(error, "status", 400)
        return problem(status, HTTPStatus(status).phrase, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        metrics.errors.labels(f"http {error.code}").inc()
        detail, accepted = error.description or error.name, ""
        if error.code == 413:  # the body is longer than MAX_CONTENT_LENGTH; a chunked body has no Content-Length
            size = f"{request.content_length:,} bytes long" if request.content_length else "too long"
            detail = f"the request body is {size}"
            accepted = f"a body of at most {app.config['MAX_CONTENT_LENGTH']:,} bytes"
        response = problem(error.code or 500, error.name, detail, accepted)
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(ClientDisconnected)
    def body_cut_short(error: ClientDisconnected) -> Response:
        metrics.errors.labels("body cut short").inc()
        announced = f"the {request.content_length:,} bytes" if request.content_length else "all of the body"
        return problem(
            400,
            "Bad Request",
            f"the request body stopped before {announced} its Content-Length announced "
            "(the client disconnected or stayed silent too long)",
            "a body as long as its Content-Length, sent without long pauses",
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        metrics.errors.labels("unexpected").inc()
        return problem(500, "Internal Server Error", "the service failed to answer this request; it is still up")
