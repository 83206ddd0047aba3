"""Operations: /healthz (is it serving, which build, any problem) and /metrics (Prometheus)."""

from __future__ import annotations

import contextlib
import time

from flask import Blueprint, Response, current_app, jsonify

from mlcloudkg.web import metrics

blueprint = Blueprint("ops", __name__)
STARTED = time.time()


@blueprint.route("/healthz")
def healthz() -> Response:
    live = current_app.extensions["mlcloudkg"]
    served = live.current()
    problems = live.problems() + ([metrics.problem] if metrics.problem else [])
    stale = False
    if served.build is not None:  # a service over a store has no sources of its own to compare
        with contextlib.suppress(OSError):
            stale = live.sources.digest() != served.version
    body = {
        "status": "degraded" if problems else "ok",
        "serving": {
            "build": served.version,
            "built_at": served.release.built_at.isoformat(),
            "triples": served.release.default_triples,
            "store": live.settings.store or None,
        },
        "sources_changed_since_build": stale,
        "problems": problems,
        "uptime_seconds": round(time.time() - STARTED, 1),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
