"""Downloads of the dataset (each build's files, with ETag and Last-Modified, gzip when accepted) and its VoID/DCAT
description at the well-known address. Over a remote store, the files are written from the store's graphs (see
live.Served.download_path): the same bytes as the published build's, so the same checksums and ETags."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file, url_for

from mlcloudkg.export import find_download
from mlcloudkg.web.description import RDF_SERIALIZERS, base_url, void_response
from mlcloudkg.web.http import cacheable, negotiate, not_modified, not_modified_response

blueprint = Blueprint("downloads", __name__)


@blueprint.route("/download/")
def index() -> Response:
    served = current_app.extensions["mlcloudkg"].current()
    files = [
        {"filename": name, "url": base_url() + url_for("downloads.download", filename=name), **details}
        for name, details in served.release.downloads.items()
    ]
    return jsonify({"build": served.version, "built_at": served.release.built_at.isoformat(), "downloads": files})


@blueprint.route("/download/<path:filename>")
def download(filename: str) -> Response:
    served = current_app.extensions["mlcloudkg"].current()
    details = served.release.downloads.get(filename)
    known = find_download(filename)
    if details is None or known is None:
        abort(404, description=f"there is no download named {filename!r}; GET /download/ lists them")
    etag = f'"{details["sha256"][:32]}"'
    if not_modified(etag, served.last_modified):
        return not_modified_response(etag, served.last_modified)
    path = served.download_path(filename)
    compressed = "gzip" in request.accept_encodings and (path.parent / (filename + ".gz")).is_file()
    response = send_file(
        path.parent / (filename + ".gz") if compressed else path,
        mimetype=known.media_type,
        as_attachment=True,
        download_name=filename,
        conditional=False,
        etag=False,
    )
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return cacheable(response, etag, served.last_modified)


@blueprint.route("/.well-known/void")
def void() -> Response:
    return void_response(negotiate(list(RDF_SERIALIZERS)))
