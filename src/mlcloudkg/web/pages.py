"""Pages that answer people's questions: /compare (the article's tables for any services, every cell sourced),
/find (requirements in, services out, with the reasons the others fail) and /explain (why a fact holds or not)."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from datetime import date
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, request

from mlcloudkg import compare as comparison
from mlcloudkg import finder
from mlcloudkg.describe import labels, passages_of, readable_names
from mlcloudkg.errors import InvalidParameter, RequestError
from mlcloudkg.namespaces import compact
from mlcloudkg.reasoning.explain import Proof
from mlcloudkg.reasoning.rules import RuleSet
from mlcloudkg.web.http import HTML, cacheable, entity_tag, negotiate
from mlcloudkg.web.rendering import page, served
from mlcloudkg.web.state import AS_OF, outdated, requested_state

blueprint = Blueprint("pages", __name__)

JSON = "application/json"
TEXT = "text/plain"
ACCEPTED_OBJECT = 'an IRI, or a literal in N-Triples syntax such as "12"^^<http://www.w3.org/2001/XMLSchema#integer>'


def _listed(name: str) -> list[str]:
    """Values of a parameter given repeated (a=x&a=y), comma-separated (a=x,y) or both."""
    return [part.strip() for value in request.args.getlist(name) for part in value.split(",") if part.strip()]


def _data(body: object) -> Response:
    build = served()
    response = Response(json.dumps(body, ensure_ascii=False, default=str), content_type=f"{JSON}; charset=utf-8")
    etag = entity_tag("data", build.version, request.full_path, date.today().isoformat())
    return cacheable(response, etag, build.last_modified)


# -- /compare ---------------------------------------------------------------------------------------------------


@blueprint.route("/compare")
def compare() -> Response:
    state = requested_state()
    kg = state.kg
    everyone = kg.services()
    # Asked for none: all of them side by side, if they fit (the article's six do; a large graph's do not).
    every_iri = [iri for iri, _ in everyone] if len(everyone) <= comparison.MAX_COMPARED else []
    wanted = _listed("providers") or every_iri
    result = comparison.compare(kg, wanted)
    if negotiate([HTML, JSON]) == JSON:
        return _data(result.to_dict())
    # The documents the cells cite, numbered once for the page.
    titles = {
        s.title for section in result.sections for row in section.rows for c in row.cells.values() for s in c.sources
    }
    footnotes = {title: number for number, title in enumerate(sorted(titles), start=1)}
    return page(
        "compare.html",
        comparison=result,
        # A checkbox for every service while a page can hold them; beyond that, the chosen ones and a field for more.
        services=everyone if len(everyone) <= comparison.LISTED_ONE_BY_ONE else result.services,
        every_service_shown=len(everyone) <= comparison.LISTED_ONE_BY_ONE,
        service_count=len(everyone),
        max_compared=comparison.MAX_COMPARED,
        selected={iri for iri, _ in result.services},
        footnotes=footnotes,
        capabilities=kg.rules.labels,
        state=state,
        freshness=result.freshness,
        stale=outdated(kg, result.freshness),
    )


# -- /find ------------------------------------------------------------------------------------------------------


def form_fields() -> list[str]:
    return [f.name for f in fields(finder.Requirements)] + list(finder.PAGE_FIELDS)


@blueprint.route("/find")
def find() -> Response:
    state = requested_state()
    kg = state.kg
    given = {name: value for name, value in request.args.items() if value != "" and name != AS_OF}
    try:
        requirements, shown = finder.parse(given)
    except InvalidParameter as error:
        raise RequestError(
            str(error),
            "checkboxes as on, true or 1; numbers between 0 and 1000000; fields: " + ", ".join(form_fields()),
        ) from None
    result = kg.answer_finder(requirements, shown)
    freshness = result.freshness
    if negotiate([HTML, JSON]) == JSON:
        return _data(result.to_dict())
    return page(
        "find.html",
        result=result,
        given=given,
        asked=bool(given),
        state=state,
        freshness=freshness,
        stale=outdated(kg, freshness),
        find_url=_find_url,
    )


def _find_url(**changes: int) -> str:
    """This finder page with some fields changed (to page through a list), the others kept."""
    return "/find?" + urlencode({**request.args.to_dict(), **{name: str(value) for name, value in changes.items()}})


# -- /explain ---------------------------------------------------------------------------------------------------


def _parameters(rules: RuleSet) -> dict[str, dict[str, str]]:
    """The thresholds of the rules (e.g. min_session_hours): a user may ask with other values."""
    found: dict[str, dict[str, str]] = {}
    for rule in rules.rules:
        found.update(rule.parameters)
    return found


def _object_term(text: str) -> ox.NamedNode | ox.Literal:
    """The statement's object from a URL: an IRI (bare or in <>) or an N-Triples literal."""
    text = text.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        text = f"<{text}>"
    try:
        [triple] = list(ox.parse(f"<urn:s> <urn:p> {text} .".encode(), ox.RdfFormat.N_TRIPLES))
    except (SyntaxError, ValueError):
        raise RequestError(f"object={text!r} is not an RDF term", ACCEPTED_OBJECT) from None
    if not isinstance(triple.object, ox.NamedNode | ox.Literal):
        raise RequestError(f"object={text!r} is a blank node", ACCEPTED_OBJECT)
    return triple.object


def _proof_iris(proof: Proof) -> set[str]:
    found = {term.strip("<>") for term in proof.triple if term.startswith("<")}
    for premise in proof.premises:
        found |= _proof_iris(premise)
    return found


@blueprint.route("/explain")
def explain() -> Response:
    state = requested_state()
    kg = state.kg
    thresholds = _parameters(kg.rules)
    if "capability" in request.args or "resource" in request.args:
        for needed in ("resource", "capability"):
            if not request.args.get(needed):
                raise RequestError(f"{needed}= is missing", "resource=<a resource> and capability=<a class>")
        given = {name: request.args[name] for name in thresholds if request.args.get(name)}
        explanation = kg.explain(request.args["resource"], request.args["capability"], **given)
        freshness = explanation.freshness or kg.freshness([explanation.resource])
        offer = negotiate([HTML, JSON, TEXT])
        if offer == JSON:
            return _data(explanation.to_dict())
        if offer == TEXT:
            return Response(explanation.to_text() + "\n", content_type=f"{TEXT}; charset=utf-8")
        proof = explanation.proof
        names = _proof_iris(proof) if proof else set()
        return page(
            "explain.html",
            explanation=explanation,
            proof=proof,
            labels=labels(kg, sorted(names | {explanation.resource, explanation.capability})),
            thresholds=thresholds,
            given=given,
            capabilities=kg.rules.labels,
            state=state,
            freshness=freshness,
            stale=outdated(kg, freshness),
        )
    for needed in ("subject", "predicate", "object"):
        if not request.args.get(needed):
            raise RequestError(
                f"{needed}= is missing",
                "resource= and capability= (is a resource a capability?), or subject=, predicate= and object= "
                "(why does a statement hold?)",
            )
    proof = kg.explain_statement(
        request.args["subject"], request.args["predicate"], _object_term(request.args["object"])
    )
    freshness = kg.freshness([request.args["subject"]])
    offer = negotiate([HTML, JSON])
    if offer == JSON:
        return _data({**proof.to_dict(), "facts": freshness.to_dict(date.today())})
    return page(
        "explain.html",
        explanation=None,
        proof=proof,
        labels=labels(kg, sorted(_proof_iris(proof))),
        thresholds={},
        given={},
        capabilities=kg.rules.labels,
        state=state,
        freshness=freshness,
        stale=outdated(kg, freshness),
    )


# -- /changes ---------------------------------------------------------------------------------------------------


@blueprint.route("/changes")
def changes() -> Response:
    """What changed between two dates, per service, each change with the passages that say so."""
    kg = served().kg
    first = kg.resolve_date(request.args.get("from") or kg.timeline().main_survey(), "from")
    second = kg.resolve_date(request.args.get("to") or "now", "to")
    found = kg.changes(first, second)
    if negotiate([HTML, JSON]) == JSON:
        return _data(
            {
                "from": first.isoformat(),
                "to": second.isoformat(),
                "changes": {owner: [vars(change) for change in items] for owner, items in found.items()},
            }
        )
    every = [change for items in found.values() for change in items]
    iris = {term[1:-1] for c in every for term in (*c.before, *c.after) if term.startswith("<")}
    iris |= {c.subject for c in every} | {c.predicate for c in every if c.predicate} | set(found)
    graphs = sorted({g for c in every for g in c.sources})
    owners = sorted(found, key=lambda owner: (owner == "other", owner))
    names = readable_names(kg, sorted(i for i in iris if i.startswith(("http://", "https://"))))
    return page(
        "changes.html",
        first=first,
        second=second,
        latest=kg.state_date,
        owners=owners,
        found=found,
        labels=names,
        values={term: _readable(term, names) for c in every for term in (*c.before, *c.after)},
        passages=passages_of(kg, graphs),
        snapshots=list(served().release.snapshots),
    )


def _readable(term: str, names: dict[str, str]) -> tuple[str | None, str]:
    """An N-Triples term of a change as (IRI or None, text to show): an IRI by its label, a literal by its value."""
    if term.startswith("<"):
        iri = term[1:-1]
        return iri, names.get(iri) or compact(iri)
    try:
        [triple] = list(ox.parse(f"<urn:s> <urn:p> {term} .".encode(), ox.RdfFormat.N_TRIPLES))
    except (SyntaxError, ValueError):
        return None, term
    return None, triple.object.value if isinstance(triple.object, ox.Literal) else term
