"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py 'mediation:create_app()'`."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# Query strings are left out of the access log: search terms may contain names or ID numbers.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The scheduler runs as its own process (mediation-scheduler.service), never inside web workers.
raw_env = ["SCHEDULER_MODE=external"]


def post_worker_init(worker):
    """The worker has built the app: what start-up allocated leaves the garbage collector's sight
    (mediation.settle_heap)."""
    from mediation.common.heap import (
        settle_heap,  # here, not at the top: the master process does not load the app
    )

    settle_heap()
