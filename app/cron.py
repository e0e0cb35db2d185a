"""Periodic jobs, for `rq cron app.cron` (the Procfile's `cron` process)."""

from rq import cron

from app.job_queue import DISPATCH_QUEUE
from app.jobs import sweep

SWEEP_EVERY_SECONDS = 5

cron.register(sweep, DISPATCH_QUEUE, interval=SWEEP_EVERY_SECONDS, result_ttl=0)
