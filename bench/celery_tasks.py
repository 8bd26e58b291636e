"""celery_tasks.py - the Celery side of bench/celery_bench.py: a no-op task and a 50 ms one.

The broker and the result backend are the Redis server the benchmark starts, named by the
environment (TD_BENCH_REDIS: redis://127.0.0.1:PORT). Acknowledgement after the task (acks
late), the delivery rule closest to tooldag worker's; the default prefetch (4 per process: with
1, Debian's Celery 5.2 on Redis waits out its 1 s poll between tasks).
"""
import os
import time

from celery import Celery

URL = os.environ.get("TD_BENCH_REDIS", "redis://127.0.0.1:6379")
app = Celery("celery_tasks", broker=URL + "/0", backend=URL + "/1")
app.conf.update(task_acks_late=True, result_expires=600,
                task_serializer="json", result_serializer="json", accept_content=["json"],
                broker_connection_retry_on_startup=True)


@app.task(name="noop")
def noop(i):
    return i


@app.task(name="sleep50")
def sleep50(i):
    time.sleep(0.05)
    return i
