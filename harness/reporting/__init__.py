"""Verdicts -> reports/evidence.html and .json: figures, what goes into the report, where it came from,
rendering, what changed since the references, and the in-browser check."""
