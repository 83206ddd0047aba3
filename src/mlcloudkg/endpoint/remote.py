"""The QueryEngine over a remote store: each served query is forwarded to the store with our time limit, and its
answer is written in the format the client asked for by our own serialisers, under our result-size limit, so that
clients get the same formats, limits and errors as from the local build. The query has passed our guard first."""

from __future__ import annotations

from mlcloudkg.endpoint.executor import Admission, Answer, Evaluation, answer_here
from mlcloudkg.remote_store import RemoteStore

# The store's answer (SPARQL JSON, Turtle) may be several times longer than ours (CSV, N-Triples): it is read up to
# this multiple of the result-size limit, so that reading stays bounded without refusing a result we would serve.
STORE_ANSWER_FACTOR = 4


class RemoteEngine:
    """Evaluates served queries on a SPARQL 1.1 store, at most `slots` at once per web worker (more wait, briefly,
    then get a 503), so that a slow store cannot take every request thread."""

    def __init__(self, store: RemoteStore, max_result_bytes: int, slots: int) -> None:
        self.store = store.limited(store.timeout, max_result_bytes * STORE_ANSWER_FACTOR)
        self.max_result_bytes = max_result_bytes
        self.admission = Admission(slots)

    def evaluate(self, evaluation: Evaluation) -> Answer:
        def evaluate_in_dataset(query: str) -> object:
            return self.store.evaluate_in(query, evaluation.default_graphs, evaluation.named_graphs)

        return answer_here(evaluate_in_dataset, evaluation, self.max_result_bytes)

    def close(self) -> None:
        """Nothing to release: every query opens its own connection."""
