"""HTTP in one place: content negotiation for every response, and caching headers (ETag, Last-Modified)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Hashable, Sequence
from datetime import datetime

from flask import Request, Response, request

from mlcloudkg.endpoint.executor import Answer
from mlcloudkg.endpoint.formats import Format, Kind, by_media_type, by_short_name, formats_of
from mlcloudkg.errors import NotAcceptable, RequestError

SHORT_NAME_PARAMETERS = ("format", "output", "results")  # what SPARQLWrapper and Fuseki clients send
HTML = "text/html"


def negotiate(offers: Sequence[str], current: Request | None = None) -> str:
    """The offered media type the client's Accept header prefers (q-values, then specificity, then our order).
    No Accept header means our first offer; no acceptable offer raises NotAcceptable (406)."""
    current = current or request
    if not current.headers.get("Accept"):
        return offers[0]
    chosen = current.accept_mimetypes.best_match(offers)
    if chosen is None:
        raise NotAcceptable(
            f"none of the media types in Accept: {current.headers['Accept']!r} is available here", ", ".join(offers)
        )
    return chosen


def result_format(kind: Kind, parameters: dict[str, list[str]], current: Request | None = None) -> Format:
    """The format of a SPARQL answer: a `format`/`output`/`results` short name among the request's protocol
    parameters if given (those given must agree), else by Accept."""
    current = current or request
    asked: dict[Format, str] = {}
    for parameter in SHORT_NAME_PARAMETERS:
        # Only the first value counts: SPARQLWrapper repeats a parameter with its media types as a fallback.
        name = next(iter(parameters.get(parameter, [])), "")
        if not name:
            continue
        chosen = by_short_name(kind, name)
        if chosen is None:
            names = sorted({n for f in formats_of(kind) for n in f.short_names})
            raise NotAcceptable(
                f"{parameter}={name!r} is not a format for this query's results",
                f"{parameter}= one of {', '.join(names)}, or a media type",
            )
        asked.setdefault(chosen, f"{parameter}={name}")
    if len(asked) > 1:
        raise RequestError(
            f"the request asks for {len(asked)} different formats: {' and '.join(asked.values())}",
            "format=, output= and results= naming the same format (or only one of them)",
        )
    if asked:
        return next(iter(asked))
    offers = [f.media_type for f in formats_of(kind)] + [a for f in formats_of(kind) for a in f.aliases]
    chosen = by_media_type(kind, negotiate(offers, current))
    assert chosen is not None
    return chosen


def entity_tag(*parts: Hashable) -> str:
    """A weak ETag (valid across gzip and identity encodings) for a response computed from `parts`."""
    return 'W/"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def not_modified(etag: str, last_modified: datetime, current: Request | None = None) -> bool:
    """Whether the client's cached copy is current (If-None-Match, else If-Modified-Since)."""
    current = current or request
    if current.if_none_match:
        return current.if_none_match.contains_weak(etag.removeprefix("W/").strip('"'))
    since = current.if_modified_since
    return since is not None and last_modified.replace(microsecond=0) <= since


def cacheable(response: Response, etag: str, last_modified: datetime) -> Response:
    """Headers that let clients and proxies revalidate instead of re-fetching: the data changes only on rebuild."""
    response.headers["ETag"] = etag
    response.last_modified = last_modified
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Accept")
    return response


def not_modified_response(etag: str, last_modified: datetime) -> Response:
    return cacheable(Response(status=304), etag, last_modified)


def server_timing(answer: Answer, started: float, outcome: str) -> str:
    """The Server-Timing header of a query's answer: engine time, total time and whether the cache answered."""
    return (
        f"engine;dur={answer.seconds * 1000:.2f}, "
        f"total;dur={(time.perf_counter() - started) * 1000:.2f}, cache;desc={outcome}"
    )
