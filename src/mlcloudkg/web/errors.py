"""Every error becomes an HTTP response here, and only here: a status, what was wrong and what is accepted.

Plain text by default; RFC 9457 problem+json for clients that prefer JSON. Never a traceback or a file path.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import ClientDisconnected, HTTPException

from mlcloudkg.errors import MlcloudkgError, QueryTimeout, RequestError
from mlcloudkg.web import metrics

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str, accepted: str = "") -> Response:
    prefers_json = request.accept_mimetypes.best_match(["text/plain", "application/problem+json", "application/json"])
    if prefers_json in {"application/problem+json", "application/json"} and request.accept_mimetypes.best != "*/*":
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        if accepted:
            body["accepted"] = accepted
        return Response(json.dumps(body), status=status, content_type="application/problem+json")
    text = f"{status} {title}: {detail}\n" + (f"accepted: {accepted}\n" if accepted else "")
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


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

    @app.errorhandler(MlcloudkgError)
    def known_error(error: MlcloudkgError) -> Response:
        metrics.errors.labels(type(error).__name__).inc()
        return problem(400, "Bad Request", str(error))

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
