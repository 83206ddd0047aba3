"""A build as the service serves it: the build (build.py), and what the service derives from it to answer quickly,
made before the build becomes the current one: the finder's index, saved beside the build (54 s to read at 10M
triples), which every process serving the build then loads in 0.5 s instead of reading its own.

Apart from build.py on purpose: the code a build runs is part of its digest (build_code.py), and a change to the
finder must not rebuild a 10M-triple dataset (1 h 50 min); the saved index names the finder's queries instead, and
a process finding it made by other ones reads its own (finder_index.FinderIndex.load).
"""

from __future__ import annotations

from mlcloudkg.build import BuildOutcome, build
from mlcloudkg.config import Settings
from mlcloudkg.finder import keep_index_of


def build_to_serve(settings: Settings, *, force: bool = False) -> BuildOutcome:
    """Build the sources (or reuse the build of identical ones), with the finder's index of a build that becomes
    the current one kept beside it first."""
    return build(settings, force=force, before_serving=keep_index_of)
