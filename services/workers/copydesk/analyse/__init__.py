"""Analysers: plain objects, text in, JSON-ready result out; no Celery, no Redis."""
