#!/usr/bin/env python3
"""Builds the Grafana dashboards in infra/grafana/dashboards/ from the definitions below.

    python infra/grafana/build_dashboards.py           # rewrite the JSON files
    python infra/grafana/build_dashboards.py --check   # exit 1 if a committed file differs

Edit this script, not the JSON: the dashboards repeat the data source, the filters and the
layout on every panel, and tests/infra/test_grafana.py fails when the committed JSON is not what
this script writes. Standard library only, so it runs anywhere Python does.

Conventions (checked by tests/infra/test_grafana.py):
- every panel and query reads the data source of the ``datasource`` variable (no fixed uid), so
  the dashboard works against any Prometheus data source, local or production;
- every selector is filtered by ``environment=~"$environment"``; the app's per-task series by
  ``task=~"$task"`` too (both are target labels set by the Prometheus configuration);
- every panel has a unit, thresholds and a description; no ``le`` matcher names a bucket bound
  (Prometheus 3 normalises ``le`` values, so ``le="1"`` stops matching there).
"""

import argparse
import json
import sys
from pathlib import Path

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}

# --- selectors ---------------------------------------------------------------------------------
ENV = 'environment=~"$environment"'
WEB = f'job="activelog-web", {ENV}, task=~"$task"'  # request metrics exist on the web tasks only
APP = f'job=~"activelog-.*", {ENV}, task=~"$task"'  # web and worker tasks (DB, cache, business)
WEB_ALL_TASKS = f'job="activelog-web", {ENV}'  # values every web task reports alike (queue gauges)
RI = "$__rate_interval"

RESPONSES = "django_http_responses_total_by_status_view_method_total"
REQUESTS = "django_http_requests_total_by_view_transport_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method_bucket"
DB_LATENCY = "django_db_query_duration_seconds_bucket"

SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


# --- building blocks ---------------------------------------------------------------------------


def steps(*pairs) -> dict:
    """Thresholds: a base colour, then (value, colour) pairs in ascending order."""
    base, *rest = pairs
    return {"mode": "absolute", "steps": [{"color": base, "value": None}]
            + [{"color": color, "value": value} for value, color in rest]}


OK = steps("green")


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend or "__auto",
         "range": not (instant or table), "instant": instant or table}
    if table:
        t["format"] = "table"
    return t


class Panel:
    def __init__(self, kind: str, title: str, description: str, unit: str, targets: list[dict], *,
                 w: int, h: int = 8, thresholds: dict = OK, decimals: int | None = None, min_: float | None = None,
                 max_: float | None = None, options: dict | None = None, custom: dict | None = None,
                 overrides: list | None = None, mappings: list | None = None,
                 transformations: list | None = None, threshold_lines: bool = False):
        self.kind, self.title, self.description, self.unit = kind, title, description, unit
        self.targets, self.w, self.h = targets, w, h
        self.thresholds, self.decimals, self.min, self.max = thresholds, decimals, min_, max_
        self.options, self.custom, self.overrides = options, custom, overrides or []
        self.mappings, self.transformations, self.threshold_lines = mappings or [], transformations, threshold_lines

    def render(self, panel_id: int, x: int, y: int) -> dict:
        defaults = {"unit": self.unit, "thresholds": self.thresholds, "mappings": self.mappings,
                    "color": {"mode": "palette-classic" if self.kind == "timeseries" else "thresholds"}}
        for key, value in (("decimals", self.decimals), ("min", self.min), ("max", self.max)):
            if value is not None:
                defaults[key] = value
        if self.kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False,
                "axisSoftMin": 0, "thresholdsStyle": {"mode": "line" if self.threshold_lines else "off"},
                **(self.custom or {}),
            }
        elif self.custom:
            defaults["custom"] = self.custom
        panel = {
            "type": self.kind, "id": panel_id, "title": self.title, "description": self.description,
            "datasource": DS, "gridPos": {"h": self.h, "w": self.w, "x": x, "y": y},
            "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(self.targets)],
            "fieldConfig": {"defaults": defaults, "overrides": self.overrides},
            "options": self._options(),
        }
        if self.transformations:
            panel["transformations"] = self.transformations
        return panel

    def _options(self) -> dict:
        if self.kind == "timeseries":
            base = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"}}
        elif self.kind in ("stat", "gauge", "bargauge"):
            base = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "orientation": "auto"}
            if self.kind == "stat":
                base.update(colorMode="value", graphMode="area", textMode="auto", justifyMode="auto")
            if self.kind == "gauge":
                base.update(showThresholdMarkers=True, showThresholdLabels=False)
            if self.kind == "bargauge":
                base.update(displayMode="gradient", showUnfilled=True)
        elif self.kind == "table":
            base = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}}
        else:
            base = {}
        return {**base, **(self.options or {})}


class Row:
    def __init__(self, title: str, panels: list[Panel], *, collapsed: bool):
        self.title, self.panels, self.collapsed = title, panels, collapsed


def ratio(errors: str, total: str) -> str:
    """errors / total where no error series means 0 (not "No data"), and no traffic means no value."""
    return f"(sum(rate({errors}[{RI}])) or vector(0)) / sum(rate({total}[{RI}]))"


def quantile(q: str, metric: str, selector: str, by: str = "") -> str:
    keys = ", ".join(filter(None, ["le", by]))
    return f"histogram_quantile({q}, sum by ({keys}) (rate({metric}{{{selector}}}[{RI}])))"


def per_minute(metric: str, selector: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{{{selector}}}[{RI}])) * 60"


# --- the panels ------------------------------------------------------------------------------------

UP = f'up{{job=~"activelog-.*", {ENV}}}'
UP_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "DOWN", "color": "red", "index": 0},
    "1": {"text": "UP", "color": "green", "index": 1},
}}]


def _fixed_colour(name: str, colour: str) -> dict:
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}]}


def health_row() -> Row:
    def burn(kind: str, budget: float) -> list[dict]:
        return [target(f"max by (job) (job:activelog_request_{kind}:ratio_rate{w}{{{ENV}}}) / {budget}", w)
                for w in SLO_WINDOWS]

    burn_steps = steps("green", (1, "orange"), (6, "red"))
    return Row("Health and SLO", collapsed=False, panels=[
        Panel("stat", "Targets up / expected",
              "ActiveLog tasks (web and worker) answering their /metrics scrape ('up'), out of the tasks "
              "Prometheus knows about ('expected'); 'down' turns red as soon as one of them fails its scrape "
              "(ActiveLogTargetDown fires after 3 minutes). A task that service discovery no longer lists is in "
              "neither number: ActiveLogNoTargets covers that.",
              "short", [
                  target(f"count({UP} == 1) or vector(0)", "up"),
                  target(f"count({UP}) or vector(0)", "expected"),
                  target(f"count({UP} == 0) or vector(0)", "down"),
              ], w=6, h=6, thresholds=steps("green", (1, "red")), decimals=0,
              overrides=[_fixed_colour("up", "green"), _fixed_colour("expected", "text")],
              options={"colorMode": "value", "graphMode": "none", "textMode": "value_and_name"}),
        Panel("table", "Scrape targets",
              "Every target of this environment, app tasks and exporters: UP when its last scrape succeeded. "
              "A DOWN app task with a 401/403 in Prometheus' target page means METRICS_TOKEN and the token "
              "Prometheus sends differ.",
              "short", [target(f"max by (job, task, instance) (up{{{ENV}}})", table=True)],
              w=8, h=6, thresholds=steps("red", (1, "green")), mappings=UP_MAPPINGS,
              custom={"align": "auto", "cellOptions": {"type": "color-text"}},
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"Value": "state"},
                  "indexByName": {"job": 0, "task": 1, "instance": 2, "Value": 3}}}]),
        Panel("stat", "Error ratio, last hour",
              "Share of web requests answered with a 5xx over the last hour (recording rule "
              "job:activelog_request_errors:ratio_rate1h). The availability objective is 99.5%: orange above the "
              "0.5% budget, red above 6x it (ActiveLogErrorBudgetBurnFast territory).",
              "percentunit", [target(f"max(job:activelog_request_errors:ratio_rate1h{{{ENV}}})", "errors")],
              w=5, h=6, thresholds=steps("green", (0.005, "orange"), (0.03, "red")), decimals=2),
        Panel("stat", "Slow request ratio, last hour",
              "Share of web requests slower than 0.5 s over the last hour (recording rule "
              "job:activelog_request_slow:ratio_rate1h). The latency objective is 99% within 0.5 s: orange above "
              "the 1% budget, red above 6x it.",
              "percentunit", [target(f"max(job:activelog_request_slow:ratio_rate1h{{{ENV}}})", "slow")],
              w=5, h=6, thresholds=steps("green", (0.01, "orange"), (0.06, "red")), decimals=2),
        Panel("timeseries", "Availability error budget burn rate",
              "The 5xx ratio over each window of the burn-rate alerts (5m to 3d), divided by the 0.5% budget: "
              "1 spends a 30-day budget in exactly 30 days. ActiveLogErrorBudgetBurnFast fires at 14.4x (1h and 5m) "
              "or 6x (6h and 30m), ...BurnSlow at 3x (1d and 2h) or 1x (3d and 6h). Short windows high and long "
              "ones low is a blip; all of them high is an incident.",
              "suffix:x", burn("errors", 0.005), w=12, h=8, thresholds=burn_steps, threshold_lines=True),
        Panel("timeseries", "Latency error budget burn rate",
              "The share of web requests slower than 0.5 s over each window, divided by the 1% budget of the "
              "latency objective. ActiveLogLatencyBudgetBurnFast and ...BurnSlow use the same factors as the "
              "availability alerts.",
              "suffix:x", burn("slow", 0.01), w=12, h=8, thresholds=burn_steps, threshold_lines=True),
    ])


def requests_row() -> Row:
    return Row("Requests", collapsed=False, panels=[
        Panel("stat", "Request rate",
              "Requests per second over every view of the selected web tasks (health checks and /metrics are "
              "answered before the metrics middleware and are not counted).",
              "reqps", [target(f"sum(rate({REQUESTS}{{{WEB}}}[{RI}])) or vector(0)", "req/s")],
              w=6, h=5, decimals=2),
        Panel("stat", "p50 latency",
              "Median request latency over all views. No value when there were no requests in the interval.",
              "s", [target(quantile("0.5", LATENCY, WEB), "p50")], w=6, h=5,
              thresholds=steps("green", (0.25, "orange"), (0.5, "red"))),
        Panel("stat", "p95 latency",
              "95th percentile of request latency over all views. The latency SLO: 99% of requests within 0.5 s.",
              "s", [target(quantile("0.95", LATENCY, WEB), "p95")], w=6, h=5,
              thresholds=steps("green", (0.5, "orange"), (1, "red"))),
        Panel("stat", "p99 latency",
              "99th percentile of request latency over all views.",
              "s", [target(quantile("0.99", LATENCY, WEB), "p99")], w=6, h=5,
              thresholds=steps("green", (1, "orange"), (2.5, "red"))),
        Panel("timeseries", "Request rate by view",
              "Requests per second per Django view (URL name) and method.",
              "reqps", [target(f"sum by (view, method) (rate({REQUESTS}{{{WEB}}}[{RI}]))", "{{view}} {{method}}")],
              w=12),
        Panel("timeseries", "Latency p50 / p95 / p99",
              "Request latency percentiles over all views (from the latency histogram; its buckets bound the "
              "precision). The dashed line is the 0.5 s slow-request threshold of the latency SLO.",
              "s", [target(quantile(q, LATENCY, WEB), f"p{int(float(q) * 100)}") for q in ("0.5", "0.95", "0.99")],
              w=12, thresholds=steps("green", (0.5, "orange"), (1, "red")), threshold_lines=True),
        Panel("timeseries", "p95 latency by view",
              "95th percentile latency per view: which endpoint is slow.",
              "s", [target(quantile("0.95", LATENCY, WEB, by="view"), "{{view}}")], w=12,
              thresholds=steps("green", (0.5, "orange"), (1, "red")), threshold_lines=True),
        Panel("timeseries", "Request rate by task",
              "Requests per second per web task: the load balancer should spread them evenly.",
              "reqps", [target(f"sum by (task) (rate({REQUESTS}{{{WEB}}}[{RI}]))", "{{task}}")], w=12),
        Panel("table", "Views: rate and latency",
              "Per view over the selected interval: requests per second and the p50 / p95 / p99 latency.",
              "s", [
                  target(f"sum by (view) (rate({REQUESTS}{{{WEB}}}[{RI}]))", table=True),
                  target(quantile("0.5", LATENCY, WEB, by="view"), table=True),
                  target(quantile("0.95", LATENCY, WEB, by="view"), table=True),
                  target(quantile("0.99", LATENCY, WEB, by="view"), table=True),
              ], w=24, h=9, thresholds=steps("green", (0.5, "orange"), (1, "red")),
              custom={"align": "auto", "cellOptions": {"type": "color-text"}},
              overrides=[{"matcher": {"id": "byName", "options": "req/s"},
                          "properties": [{"id": "unit", "value": "reqps"},
                                         {"id": "custom.cellOptions", "value": {"type": "auto"}}]}],
              options={"sortBy": [{"displayName": "p95", "desc": True}]},
              transformations=[
                  {"id": "merge", "options": {}},
                  {"id": "organize", "options": {
                      "excludeByName": {"Time": True},
                      "renameByName": {"Value #A": "req/s", "Value #B": "p50", "Value #C": "p95", "Value #D": "p99"}}},
              ]),
    ])


def errors_row() -> Row:
    five = f'{RESPONSES}{{{WEB}, status=~"5.."}}'
    four = f'{RESPONSES}{{{WEB}, status=~"4.."}}'
    every = f"{RESPONSES}{{{WEB}}}"
    return Row("Errors", collapsed=False, panels=[
        Panel("stat", "5xx ratio",
              "Share of responses with a 5xx status (0 when there were none; no value without traffic). "
              "The availability SLO allows 0.5%; the burn-rate alerts fire on sustained multiples of it.",
              "percentunit", [target(ratio(five, every), "5xx")], w=6, h=5,
              thresholds=steps("green", (0.01, "orange"), (0.05, "red")), decimals=2),
        Panel("stat", "4xx ratio",
              "Share of responses with a 4xx status: validation errors, 401/403/404 and throttling (429). "
              "A jump without a release usually means a broken client or a scan.",
              "percentunit", [target(ratio(four, every), "4xx")], w=6, h=5,
              thresholds=steps("green", (0.1, "orange"), (0.25, "red")), decimals=2),
        Panel("stat", "Unhandled exceptions",
              "Exceptions per second no handler turned into an answer: each becomes a 500. Domain errors "
              "(404, 409…) and an unreachable database (503) are answered by the app's own handlers and "
              "are not counted here; they show under Responses by status and Database errors.",
              "ops", [target(f"sum(rate(django_http_exceptions_total_by_type_total{{{WEB}}}[{RI}])) or vector(0)",
                             "exceptions/s")],
              w=6, h=5, thresholds=steps("green", (0.1, "orange"), (1, "red")), decimals=2),
        Panel("stat", "Throttled requests",
              "Requests per second refused with 429 by a rate limit, all scopes (by scope under Business).",
              "reqps", [target(f"sum(rate(activelog_throttled_requests_total{{{APP}}}[{RI}])) or vector(0)",
                               "429/s")],
              w=6, h=5, thresholds=steps("green", (0.5, "orange"), (2, "red")), decimals=2),
        Panel("timeseries", "4xx and 5xx ratio",
              "The two error ratios over time. Dashed lines: 1% (orange) and 5% (red).",
              "percentunit", [target(ratio(five, every), "5xx"), target(ratio(four, every), "4xx")], w=12,
              thresholds=steps("green", (0.01, "orange"), (0.05, "red")), threshold_lines=True),
        Panel("timeseries", "Responses by status",
              "Responses per second per HTTP status code.",
              "reqps", [target(f"sum by (status) (rate({every}[{RI}]))", "{{status}}")], w=12),
        Panel("timeseries", "Error responses by view",
              "4xx and 5xx responses per second per view and status: where the errors come from.",
              "reqps", [target(f'sum by (view, status) (rate({RESPONSES}{{{WEB}, status=~"[45].."}}[{RI}]))',
                               "{{view}} {{status}}")], w=8),
        Panel("timeseries", "Exceptions by type",
              "Unhandled exceptions (500s) per second per exception class; 0 while there are none (the "
              "series appear with the first exception).",
              "ops", [target(f"sum by (type) (rate(django_http_exceptions_total_by_type_total{{{WEB}}}[{RI}]))"
                             " or vector(0)", "{{type}}")], w=8),
        Panel("timeseries", "Exceptions by view",
              "Unhandled exceptions (500s) per second per view; 0 while there are none.",
              "ops", [target(f"sum by (view) (rate(django_http_exceptions_total_by_view_total{{{WEB}}}[{RI}]))"
                             " or vector(0)", "{{view}}")], w=8),
    ])


def database_row() -> Row:
    statements = f"pg_stat_statements_seconds_total{{{ENV}}}"
    calls = f"pg_stat_statements_calls_total{{{ENV}}}"
    mean = (f"topk(10, sum by (datname, queryid) (rate({statements}[{RI}])) "
            f"/ sum by (datname, queryid) (rate({calls}[{RI}]) > 0))")
    return Row("Database", collapsed=True, panels=[
        Panel("stat", "Query rate",
              "SQL statements per second executed by the selected tasks (web and worker), from the app's "
              "instrumented database backend.",
              "ops", [target(f"sum(rate(django_db_execute_total{{{APP}}}[{RI}])) or vector(0)", "queries/s")],
              w=6, h=5, decimals=1),
        Panel("stat", "Query p95",
              "95th percentile of SQL statement duration as the app measures it (network included).",
              "s", [target(quantile("0.95", DB_LATENCY, APP), "p95")], w=6, h=5,
              thresholds=steps("green", (0.1, "orange"), (0.5, "red"))),
        Panel("gauge", "Server connections used",
              "Connections open on the PostgreSQL server (all clients, from pg_stat_activity via "
              "postgres-exporter) as a share of max_connections. New connections are refused at 100%.",
              "percentunit", [target(f"sum(pg_stat_activity_count{{{ENV}}}) "
                                     f"/ max(pg_settings_max_connections{{{ENV}}})", "used")],
              w=6, h=5, thresholds=steps("green", (0.7, "orange"), (0.9, "red")), min_=0, max_=1),
        Panel("stat", "Database errors",
              "Statement errors per second seen by the app (any type; by type in the panel below).",
              "ops", [target(f"sum(rate(django_db_errors_total{{{APP}}}[{RI}])) or vector(0)", "errors/s")],
              w=6, h=5, thresholds=steps("green", (0.01, "orange"), (0.1, "red")), decimals=2),
        Panel("timeseries", "Queries per second by task",
              "SQL statements per second per task.",
              "ops", [target(f"sum by (job, task) (rate(django_db_execute_total{{{APP}}}[{RI}]))", "{{task}}")],
              w=8),
        Panel("timeseries", "Query duration p50 / p95 / p99",
              "SQL statement duration percentiles measured by the app (django_db_query_duration_seconds).",
              "s", [target(quantile(q, DB_LATENCY, APP), f"p{int(float(q) * 100)}") for q in ("0.5", "0.95", "0.99")],
              w=8, thresholds=steps("green", (0.1, "orange"), (0.5, "red")), threshold_lines=True),
        Panel("timeseries", "Database errors by type",
              "Statement errors per second by exception class (OperationalError: the database went away; "
              "QueryCanceled: a statement timeout).",
              "ops", [target(f"sum by (type) (rate(django_db_errors_total{{{APP}}}[{RI}]))", "{{type}}")], w=8),
        Panel("timeseries", "Connection pool per task",
              "Connections of the app's psycopg pools per task: active (lent to a request or task), idle, and "
              "the pools' maximum. Active at the maximum means requests wait for a connection "
              "(DATABASE_POOL_MAX_SIZE).",
              "short", [
                  target(f"sum by (task, state) (activelog_db_pool_connections{{{APP}}})", "{{task}} {{state}}"),
                  target(f"sum by (task) (activelog_db_pool_max_connections{{{APP}}})", "{{task}} max"),
              ], w=12, decimals=0),
        Panel("timeseries", "Server connections by state",
              "Connections on the PostgreSQL server by state (pg_stat_activity, every client: app tasks, "
              "one-off tasks, people), and max_connections.",
              "short", [
                  target(f"sum by (state) (pg_stat_activity_count{{{ENV}}})", "{{state}}"),
                  target(f"max(pg_settings_max_connections{{{ENV}}})", "max_connections"),
              ], w=12, decimals=0),
        Panel("table", "Slowest statements (mean time per call)",
              "The ten statements with the highest mean execution time over the interval, from "
              "pg_stat_statements through postgres-exporter (the stat_statements collector with include_query, "
              "or infra/prometheus/postgres-exporter-queries.yml). The text is normalised: literals are $1, $2. "
              "Without the query text mapping only the queryid is shown: look it up in pg_stat_statements.",
              "s", [target(f"({mean} * on (queryid) group_left (query) max by (queryid, query) "
                           f"(pg_stat_statements_query_id{{{ENV}}})) or on (datname, queryid) {mean}", table=True)],
              w=14, h=9, thresholds=steps("green", (0.1, "orange"), (0.5, "red")),
              custom={"align": "auto", "cellOptions": {"type": "color-text"}},
              options={"sortBy": [{"displayName": "mean", "desc": True}]},
              transformations=[{"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"Value": "mean"},
                  "indexByName": {"query": 0, "Value": 1, "datname": 2, "queryid": 3}}}]),
        Panel("timeseries", "Database time by statement (top 5)",
              "Seconds of server execution time per second spent in each of the five most expensive statements "
              "(pg_stat_statements), by queryid: what the database is busy with.",
              "s", [target(f"topk(5, sum by (datname, queryid) (rate({statements}[{RI}])))", "{{queryid}}")],
              w=10, h=9),
    ])


def cache_row() -> Row:
    stats = f"activelog_stats_cache_requests_total{{{WEB}}}"
    return Row("Cache", collapsed=True, panels=[
        Panel("stat", "Statistics cache hit ratio",
              "Share of statistics answers served from the cache instead of computed (per-user, versioned keys; "
              "a write invalidates the user's entries). No value when no statistics were asked for.",
              "percentunit",
              [target(f'(sum(rate(activelog_stats_cache_requests_total{{{WEB}, result="hit"}}[{RI}])) or vector(0)) '
                      f"/ sum(rate({stats}[{RI}]))", "hit ratio")],
              w=6, h=5, thresholds=steps("red", (0.3, "orange"), (0.6, "green")), decimals=1, min_=0, max_=1),
        Panel("stat", "Django cache hit ratio",
              "Share of the app's cache reads (sessions, throttles, statistics, ...) that found their key.",
              "percentunit",
              [target(f"(sum(rate(django_cache_get_hits_total{{{APP}}}[{RI}])) or vector(0)) / "
                      f"((sum(rate(django_cache_get_hits_total{{{APP}}}[{RI}])) or vector(0)) "
                      f"+ (sum(rate(django_cache_get_misses_total{{{APP}}}[{RI}])) or vector(0)))", "hit ratio")],
              w=6, h=5, thresholds=steps("red", (0.3, "orange"), (0.6, "green")), decimals=1, min_=0, max_=1),
        Panel("stat", "Redis keyspace hit ratio",
              "Share of key look-ups on the Redis server that found the key (all clients: cache and broker).",
              "percentunit",
              [target(f"sum(rate(redis_keyspace_hits_total{{{ENV}}}[{RI}])) / (sum(rate(redis_keyspace_hits_total"
                      f"{{{ENV}}}[{RI}])) + sum(rate(redis_keyspace_misses_total{{{ENV}}}[{RI}])))", "hit ratio")],
              w=6, h=5, thresholds=steps("red", (0.3, "orange"), (0.6, "green")), decimals=1, min_=0, max_=1),
        Panel("stat", "Redis evictions",
              "Keys evicted per second because Redis reached maxmemory. Anything above 0 means the cache is too "
              "small (sessions and throttle counters are evicted too).",
              "ops", [target(f"sum(rate(redis_evicted_keys_total{{{ENV}}}[{RI}]))", "evictions/s")],
              w=6, h=5, thresholds=steps("green", (0.001, "orange"), (1, "red")), decimals=2),
        Panel("timeseries", "Statistics cache: hits and misses",
              "Statistics answers per second, from the cache (hit) or computed (miss).",
              "ops", [target(f"sum by (result) (rate({stats}[{RI}]))", "{{result}}")], w=8),
        Panel("timeseries", "Django cache: hits and misses",
              "The app's cache reads per second that found (hit) or missed their key.",
              "ops", [
                  target(f"sum(rate(django_cache_get_hits_total{{{APP}}}[{RI}]))", "hits"),
                  target(f"sum(rate(django_cache_get_misses_total{{{APP}}}[{RI}]))", "misses"),
              ], w=8),
        Panel("timeseries", "Redis keyspace: hits and misses",
              "Key look-ups per second on the Redis server (redis-exporter).",
              "ops", [
                  target(f"sum(rate(redis_keyspace_hits_total{{{ENV}}}[{RI}]))", "hits"),
                  target(f"sum(rate(redis_keyspace_misses_total{{{ENV}}}[{RI}]))", "misses"),
              ], w=8),
        Panel("timeseries", "Redis memory",
              "Memory Redis uses, and its maxmemory (0 means no limit: then nothing is evicted and the host's "
              "memory is the limit).",
              "bytes", [
                  target(f"max(redis_memory_used_bytes{{{ENV}}})", "used"),
                  target(f"max(redis_memory_max_bytes{{{ENV}}})", "maxmemory"),
              ], w=12),
        Panel("timeseries", "Redis connected clients",
              "Client connections open on Redis: app processes (cache, broker), the worker, the exporter.",
              "short", [target(f"sum(redis_connected_clients{{{ENV}}})", "clients")], w=12, decimals=0),
    ])


def system_row() -> Row:
    net = 'interface!="lo"'
    return Row("System resources per task", collapsed=True, panels=[
        Panel("timeseries", "CPU per task",
              "CPU time used per second by each task's container (cgroup), in vCPUs: 1 = one full vCPU. Compare "
              "with the task size (e.g. 0.5 for 512 CPU units); ECS autoscaling targets 70% of it.",
              "short", [target(f"sum by (task) (rate(activelog_container_cpu_usage_seconds_total{{{APP}}}[{RI}]))",
                               "{{task}}")], w=8, custom={"axisLabel": "vCPU"}),
        Panel("timeseries", "Memory per task",
              "Memory used by each task's container (cgroup), and its limit where one is set (the task size on "
              "Fargate; no limit line when the container is unlimited). The kernel kills the container at the "
              "limit.",
              "bytes", [
                  target(f"sum by (task) (activelog_container_memory_usage_bytes{{{APP}}})", "{{task}}"),
                  target(f"sum by (task) (activelog_container_memory_limit_bytes{{{APP}}})", "{{task}} limit"),
              ], w=8),
        Panel("timeseries", "Network per task",
              "Bytes per second received (positive) and sent (negative) by each task's container, all "
              "interfaces but loopback.",
              "Bps", [
                  target(f"sum by (task) (rate(activelog_container_network_receive_bytes_total{{{APP}, {net}}}[{RI}]))",
                         "{{task}} received"),
                  target(f"-sum by (task) (rate(activelog_container_network_transmit_bytes_total{{{APP}, {net}}}"
                         f"[{RI}]))", "{{task}} sent"),
              ], w=8, custom={"axisSoftMin": None}),
    ])


def business_row() -> Row:
    return Row("Business", collapsed=True, panels=[
        Panel("stat", "Activities created",
              "Activities logged in the selected time range, all types.",
              "short", [target(f"sum(increase(activelog_activities_created_total{{{APP}}}[$__range])) or vector(0)",
                               "activities", instant=True)], w=6, h=5, decimals=0),
        Panel("stat", "Export failures",
              "PDF exports that failed in the selected time range (ActiveLogExportFailures fires on any within "
              "15 minutes).",
              "short", [target(f"sum(increase(activelog_exports_failed_total{{{APP}}}[$__range])) or vector(0)",
                               "failed", instant=True)],
              w=6, h=5, thresholds=steps("green", (1, "red")), decimals=0),
        Panel("stat", "Oldest pending export",
              "Age of the oldest export job still waiting for the worker (0 when none waits). Growing means the "
              "worker is down or too slow. The queue is global: every web task reports the same value.",
              "s", [target(f"max(activelog_export_oldest_pending_age_seconds{{{WEB_ALL_TASKS}}})", "age")],
              w=6, h=5, thresholds=steps("green", (60, "orange"), (300, "red"))),
        Panel("stat", "Export jobs waiting",
              "Export jobs pending (queued) and processing now (from the database; every web task reports the "
              "same values).",
              "short", [target(f"max by (status) (activelog_export_jobs{{{WEB_ALL_TASKS}}})", "{{status}}")],
              w=6, h=5, thresholds=steps("green", (10, "orange"), (50, "red")), decimals=0,
              options={"textMode": "value_and_name"}),
        Panel("timeseries", "Activities created by type",
              "Activities logged per minute, per activity type (types outside the known list are 'other').",
              "opm", [target(per_minute("activelog_activities_created_total", APP, "activity_type"),
                             "{{activity_type}}")], w=8),
        Panel("timeseries", "Logins by result",
              "Sign-in attempts per minute (API and browser), successful and failed. ActiveLogLoginFailuresSpike "
              "fires above 30 failures a minute when most attempts fail.",
              "opm", [target(per_minute("activelog_logins_total", WEB, "result"), "{{result}}")], w=8),
        Panel("timeseries", "Exports requested, completed, failed",
              "PDF exports per minute: requested (web), completed and failed (worker; a job that cannot be "
              "queued fails in the web task).",
              "opm", [
                  target(per_minute("activelog_exports_requested_total", APP, "format"), "requested {{format}}"),
                  target(per_minute("activelog_exports_completed_total", APP, "format"), "completed {{format}}"),
                  target(per_minute("activelog_exports_failed_total", APP, "format"), "failed {{format}}"),
              ], w=8),
        Panel("timeseries", "Photos uploaded",
              "Photos stored per minute.",
              "opm", [target(per_minute("activelog_photos_uploaded_total", APP), "photos")], w=8),
        Panel("timeseries", "Throttled requests by scope",
              "Requests per minute refused by each rate limit (login, register, refresh, export, user, anon). "
              "Login throttling at a high rate is the sign of credential stuffing.",
              "opm", [target(per_minute("activelog_throttled_requests_total", APP, "scope"), "{{scope}}")], w=8),
        Panel("timeseries", "Export queue",
              "Export jobs pending and processing (left axis), and the age of the oldest pending job.",
              "short", [
                  target(f"max by (status) (activelog_export_jobs{{{WEB_ALL_TASKS}}})", "{{status}}"),
                  target(f"max(activelog_export_oldest_pending_age_seconds{{{WEB_ALL_TASKS}}})", "oldest pending age"),
              ], w=8, decimals=0,
              overrides=[{"matcher": {"id": "byName", "options": "oldest pending age"},
                          "properties": [{"id": "unit", "value": "s"},
                                         {"id": "custom.axisPlacement", "value": "right"}]}]),
    ])


# --- the dashboard ---------------------------------------------------------------------------------


def variables() -> list[dict]:
    def query_variable(name: str, label: str, query: str, **extra) -> dict:
        return {"name": name, "label": label, "type": "query", "datasource": DS, "query": query,
                "definition": query, "refresh": 2, "sort": 1, "hide": 0, "regex": "", "current": {},
                "options": [], "includeAll": False, "multi": False, **extra}

    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "refresh": 1, "hide": 0, "regex": "", "current": {}, "options": [], "includeAll": False, "multi": False},
        query_variable("environment", "Environment", 'label_values(up{job=~"activelog-.*"}, environment)'),
        query_variable("task", "Task", 'label_values(up{job=~"activelog-.*", environment=~"$environment"}, task)',
                       includeAll=True, multi=True, allValue=".*"),
    ]


def layout(rows: list[Row]) -> list[dict]:
    """Grafana's panel list: a row panel, then its panels (inside the row when it is collapsed),
    flowed left to right, 24 columns wide. Positions are those of the expanded layout."""
    panels, y, next_id = [], 0, 1
    for row in rows:
        row_panel = {"type": "row", "id": next_id, "title": row.title, "collapsed": row.collapsed,
                     "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}
        next_id += 1
        y += 1
        panels.append(row_panel)
        x, line_height, rendered = 0, 0, []
        for panel in row.panels:
            if x + panel.w > 24:
                x, y, line_height = 0, y + line_height, 0
            rendered.append(panel.render(next_id, x, y))
            next_id += 1
            x += panel.w
            line_height = max(line_height, panel.h)
        y += line_height
        if row.collapsed:
            row_panel["panels"] = rendered
        else:
            panels.extend(rendered)
    return panels


def overview() -> dict:
    rows = [health_row(), requests_row(), errors_row(), database_row(), cache_row(), system_row(), business_row()]
    return {
        "uid": "activelog-overview",
        "title": "ActiveLog overview",
        "description": "ActiveLog in one place: target health and SLOs, requests, errors, database, cache, "
                       "system resources per task and business activity, for one environment and any of its "
                       "tasks. Generated by infra/grafana/build_dashboards.py: edit that, not this file.",
        "tags": ["activelog"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "templating": {"list": variables()},
        "links": [],
        "panels": layout(rows),
    }


def dashboards() -> dict[str, dict]:
    """File name -> dashboard."""
    return {"activelog-overview.json": overview()}


def render(dashboard: dict) -> str:
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file differs")
    args = parser.parse_args(argv)
    wanted = {name: render(d) for name, d in dashboards().items()}
    stale = sorted(p.name for p in DASHBOARDS_DIR.glob("*.json") if p.name not in wanted)
    differing = [n for n, text in wanted.items()
                 if not (DASHBOARDS_DIR / n).exists() or (DASHBOARDS_DIR / n).read_text() != text]
    if args.check:
        for name in differing + stale:
            print(f"{DASHBOARDS_DIR / name} is not what {Path(__file__).name} writes", file=sys.stderr)
        return 1 if differing or stale else 0
    DASHBOARDS_DIR.mkdir(exist_ok=True)
    for name in differing:
        (DASHBOARDS_DIR / name).write_text(wanted[name])
        print(f"wrote {DASHBOARDS_DIR / name}")
    for name in stale:
        (DASHBOARDS_DIR / name).unlink()
        print(f"removed {DASHBOARDS_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
