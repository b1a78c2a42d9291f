"""Celery workers that run site adaptations (Redis broker)."""
