"""The job runtime shared by the HTTP service and the Celery workers: settings, job records and
stores, executors, the model store and the adaptation job. It stands on ``models`` and knows
nothing of HTTP or of the worker processes.
"""
