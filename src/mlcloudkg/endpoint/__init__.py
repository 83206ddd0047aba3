"""The SPARQL endpoint's logic, independent of the web framework: formats, query guard, evaluation, caching."""
