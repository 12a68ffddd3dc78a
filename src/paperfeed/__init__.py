"""paperfeed: a local-first reading pipeline for machine-learning learners."""

__version__ = "0.1.0"
