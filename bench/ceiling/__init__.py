"""A bare Django + DRF project: the ceiling ActiveLog is measured against by bench/load.py.

Not part of the app and never imported by it: two views (20 static items; one `SELECT 1`), no
middleware, no authentication, no throttling, no metrics, served by gunicorn with the values of
the shipped gunicorn.conf.py (bench/ceiling/gunicorn.conf.py reads them from it).
"""
