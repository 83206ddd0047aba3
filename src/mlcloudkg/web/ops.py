"""Operations: /healthz (is it serving, which build, any problem) and /metrics (Prometheus)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify

from mlcloudkg.sources import sources_digest
from mlcloudkg.web import metrics

blueprint = Blueprint("ops", __name__)
STARTED = time.time()


@blueprint.route("/healthz")
def healthz() -> Response:
    live = current_app.extensions["mlcloudkg"]
    served = live.current()
    manifest = served.build.manifest
    problems = live.problems() + ([metrics.problem] if metrics.problem else [])
    try:
        stale = sources_digest(live.settings) != served.version
    except OSError:
        stale = False
    body = {
        "status": "degraded" if problems else "ok",
        "serving": {
            "build": served.version,
            "built_at": manifest["built_at"],
            "triples": manifest["graphs"]["default"],
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
