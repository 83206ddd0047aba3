"""mlcloudkg: a knowledge graph of cloud GPU notebook services, served over SPARQL 1.1."""

__version__ = "0.1.0"
