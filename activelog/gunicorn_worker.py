"""A gthread worker that leaves new connections to an idle sibling while its threads are all busy.

All workers wait on the one listening socket and every one of them is woken by a new connection;
whichever calls accept() first gets it. gunicorn's gthread worker accepts whenever it is woken,
even with all its threads busy (the connection then waits in the thread pool's queue), and a
keep-alive connection stays with the worker that accepted it. Under a steady set of keep-alive
clients (wrk's 16 connections, an ALB's pooled connections) one worker ended up holding 88-100%
of them: one core served the load while the other idled (bench/load.py, issue 17).

This worker counts the requests it has handed to its threads and not yet finished. While that
count has reached the thread count, it waits a moment before accepting, so a worker with a free
thread, woken by the same connection, takes it first. If no sibling does, this worker still
accepts after the pause: a connection is never left waiting because every worker is busy.

Connections accepted while the other worker was away stay where they landed: when a worker is
recycled (max_requests), every client reconnects to the one left running, and keep-alive keeps
them there. So, like nginx's keepalive_requests, a connection is closed after
GUNICORN_KEEPALIVE_REQUESTS requests (default 500): the response says "Connection: close", the
client (or the ALB) opens a new one, and the accept above places it. At a thousand requests a
second over 16 connections that is one new connection in 500 requests, and the load spreads again
within seconds of a recycle.

Everything else is gunicorn's gthread worker; GUNICORN_WORKER_CLASS=gthread goes back to it.
"""

import os
import time

from gunicorn.workers.gthread import ThreadWorker

# Long enough for an idle sibling's main loop to wake up and call accept(), short enough to be
# small beside a request that queues behind a full thread pool anyway.
BUSY_ACCEPT_DELAY = 0.002
KEEPALIVE_REQUESTS = int(os.environ.get("GUNICORN_KEEPALIVE_REQUESTS", 500))


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished yet. Only the main loop's thread
        # touches it (enqueue_req and finish_request both run there), so it needs no lock.
        self.in_flight = 0

    def enqueue_req(self, conn):
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def handle_request(self, req, conn):
        # In a worker thread; a connection is served by one thread at a time.
        conn.requests_served = getattr(conn, "requests_served", 0) + 1
        if KEEPALIVE_REQUESTS and conn.requests_served >= KEEPALIVE_REQUESTS:
            req.must_close = True  # gunicorn then answers "Connection: close" and closes after it
        return super().handle_request(req, conn)

    def accept(self, listener):
        if self.in_flight >= self.cfg.threads:
            time.sleep(BUSY_ACCEPT_DELAY)
        super().accept(listener)
