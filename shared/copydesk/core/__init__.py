"""The core both services share: settings, schemas, job store, names, errors, text preparation.

Nothing here imports Flask, Celery or torch, so the intake image stays small.
"""
