"""Prometheus configuration and alert rules (the dashboards: test_grafana.py), checked with the real promtool.

promtool comes from Debian's `prometheus` package (`make system-deps` installs it); when it is
missing these tests fail rather than skip, so a CI machine without it cannot pass silently.
"""

import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
PROD_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus.local.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
RULE_TESTS_DIR = PROMETHEUS_DIR / "tests"
GRAFANA_DIR = ROOT / "infra" / "grafana"
DATASOURCES_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"

# The metrics the app exports, with their labels, read from the app's own registry (every metric
# object django-prometheus and ActiveLog define, and the families computed at scrape time), not
# from a hand-written list: a rule naming a metric or label the app does not export fails.
def _app_metrics() -> tuple[dict[str, set[str]], set[str]]:
    from django_prometheus.middleware import Metrics
    from prometheus_client import REGISTRY

    import activelog.metrics as app_metrics
    import activities.exports.monitoring  # noqa: F401  (registers the queue families)

    Metrics.get_instance()
    found: dict[str, set[str]] = {}
    histograms: set[str] = set()
    for collector in list(REGISTRY._collector_to_names):
        name, kind = getattr(collector, "_name", None), getattr(collector, "_type", None)
        if name is None or kind is None:
            continue
        labels = set(getattr(collector, "_labelnames", ()))
        if kind == "counter":
            found[f"{name}_total"] = labels
        elif kind == "histogram":
            found[name] = labels
            histograms.add(name)
        else:
            found[name] = labels
    # The figures come from a query and the kernel; the family names and labels do not depend on
    # them (but a family is left out when its figure is unknown, as the memory limit is here).
    from activelog.container import Usage

    empty_queue = {"pending": 0, "processing": 0, "oldest_pending_age_seconds": 0.0}
    every_figure = Usage(cpu_seconds=1.0, memory_bytes=1.0, memory_limit_bytes=2.0, network={"eth0": (1.0, 1.0)})
    with mock.patch("activities.exports.monitoring.export_queue", return_value=empty_queue), \
            mock.patch("activelog.container.read_usage", return_value=every_figure):
        sources = [app_metrics.CONTAINER, *app_metrics._app_sources]
        families = [family for source in sources for family in source._produce()]
    for family in families:
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        found[exposed] = {label for sample in family.samples for label in sample.labels}
    return found, histograms


DOCUMENTED_METRICS, HISTOGRAMS = _app_metrics()
# Label values that are a closed set in the app.
DOCUMENTED_LABEL_VALUES = {
    ("activelog_logins_total", "result"): {"success", "failure"},
    ("activelog_stats_cache_requests_total", "result"): {"hit", "miss"},
    ("activelog_export_jobs", "status"): {"pending", "processing"},
}
# Labels Prometheus attaches at scrape time, and the histogram bucket label.
TARGET_LABELS = {"job", "instance", "le", "environment", "task"}
APP_JOB = "activelog-web"

REQUIRED_ALERTS = {
    "ActiveLogErrorBudgetBurnFast", "ActiveLogErrorBudgetBurnSlow",
    "ActiveLogLatencyBudgetBurnFast", "ActiveLogLatencyBudgetBurnSlow",
    "ActiveLogTargetDown", "ActiveLogNoTargets", "ActiveLogWorkerDown",
    "ActiveLogExportFailures", "ActiveLogExportQueueBacklog", "ActiveLogLoginFailuresSpike",
    "ActiveLogPostgresDown", "ActiveLogPostgresExporterDown", "ActiveLogPostgresConnectionsHigh",
    "ActiveLogRedisDown", "ActiveLogRedisExporterDown", "ActiveLogRedisMemoryHigh", "ActiveLogRedisEvictions",
}



# --- helpers ------------------------------------------------------------------------------------


def run(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)


def output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.yml"))


def all_rules() -> list[dict]:
    return [rule for path in rule_files() for group in load_yaml(path)["groups"] for rule in group["rules"]]


def alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for rule in all_rules() if "alert" in rule}


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_METRIC = re.compile(r"(?<![:\w])((?:django|activelog)_[a-zA-Z0-9_]+)\b(?!:)")
_SELECTOR = re.compile(r"(?<![:\w])((?:django|activelog)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
_RECORDED = re.compile(r"\b([a-zA-Z_]\w*:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+)\b")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*,?')
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def base_metric(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name.removesuffix(suffix) in HISTOGRAMS:
            return name.removesuffix(suffix)
    return name


def metric_names(expr: str) -> set[str]:
    """Names of django_*/activelog_* series an expression reads (label values are ignored)."""
    return {base_metric(name) for name in _METRIC.findall(_STRING.sub('""', expr))}


def undocumented_metrics(expr: str) -> set[str]:
    return {name for name in metric_names(expr) if name not in DOCUMENTED_METRICS}


def label_problems(expr: str) -> list[str]:
    """Label matchers and groupings that name a label the metric does not have, or a value it never takes."""
    problems = []
    names = metric_names(expr)
    for raw_name, body in _SELECTOR.findall(expr):
        name = base_metric(raw_name)
        allowed = DOCUMENTED_METRICS.get(name, set()) | TARGET_LABELS
        for label, op, value in _MATCHER.findall(body):
            if label not in allowed:
                problems.append(f"{name} has no label {label!r}")
            closed = DOCUMENTED_LABEL_VALUES.get((name, label))
            if closed and op == "=" and value not in closed:
                problems.append(f"{name}{{{label}}} is one of {sorted(closed)}, not {value!r}")
    allowed_anywhere = set().union(*(DOCUMENTED_METRICS.get(n, set()) for n in names)) | TARGET_LABELS
    for group in _GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in group.split(","))):
            if label not in allowed_anywhere:
                problems.append(f"grouping by {label!r}, which none of {sorted(names)} has")
    return problems


def test_the_expression_checks_themselves_catch_mistakes():
    assert metric_names('sum(rate(django_http_requests_latency_seconds_by_view_method_bucket{view="x"}[5m]))') == {
        "django_http_requests_latency_seconds_by_view_method"
    }
    assert undocumented_metrics("rate(activelog_exports_failed_total[5m])") == set()
    assert undocumented_metrics("rate(activelog_export_failures_total[5m])") == {"activelog_export_failures_total"}
    # A metric name inside a label value is not a metric read.
    assert undocumented_metrics('up{job="activelog_bogus_total"}') == set()
    assert label_problems('rate(activelog_logins_total{result="failure"}[5m])') == []
    assert label_problems('rate(activelog_logins_total{result="failed"}[5m])')
    assert label_problems('rate(activelog_logins_total{outcome="failure"}[5m])')
    assert label_problems("sum by (scope) (rate(activelog_logins_total[5m]))")


# --- promtool -----------------------------------------------------------------------------------


def test_local_config_passes_promtool_check_config(promtool):
    result = run(promtool, "check", "config", LOCAL_CONFIG)
    assert result.returncode == 0, output(result)
    assert "is valid prometheus config file syntax" in result.stdout
    assert re.search(r"SUCCESS: [1-9]\d* rules found", result.stdout), output(result)


def test_production_config_passes_promtool_check_config(promtool, tmp_path):
    """promtool resolves the token file and the rule files relative to the config: lay them out as deployed."""
    shutil.copy(PROD_CONFIG, tmp_path / "prometheus.yml")
    shutil.copytree(RULES_DIR, tmp_path / "rules")

    missing_token = run(promtool, "check", "config", tmp_path / "prometheus.yml")
    assert missing_token.returncode != 0, "the credentials file must be required, relative to the config"
    assert "secrets/activelog-metrics-token" in missing_token.stdout + missing_token.stderr

    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "activelog-metrics-token").write_text("not-a-real-token\n")
    result = run(promtool, "check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, output(result)
    assert "is valid prometheus config file syntax" in result.stdout
    assert re.search(r"SUCCESS: [1-9]\d* rules found", result.stdout), output(result)


def test_rules_pass_promtool_check_rules(promtool):
    assert rule_files(), f"no rule files in {RULES_DIR}"
    result = run(promtool, "check", "rules", *rule_files())
    assert result.returncode == 0, output(result)
    found = [int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", result.stdout)]
    assert len(found) == len(rule_files()) and sum(found) == len(all_rules()), output(result)


def test_rule_unit_tests_pass(promtool):
    assert rule_test_files(), f"no promtool unit tests in {RULE_TESTS_DIR}"
    result = run(promtool, "test", "rules", *rule_test_files())
    assert result.returncode == 0, output(result)
    assert "SUCCESS" in result.stdout, output(result)


def _unit_test_cases() -> list[tuple[str, str, bool]]:
    """(test name, alert name, expects it firing) for every alert_rule_test in the unit tests."""
    cases = []
    for path in rule_test_files():
        for test in load_yaml(path)["tests"]:
            for check in test.get("alert_rule_test", []):
                cases.append((test["name"], check["alertname"], bool(check.get("exp_alerts"))))
    return cases


@pytest.mark.parametrize("alert", sorted(alerts()))
def test_every_alert_is_tested_firing_and_silent(alert):
    cases = [(name, firing) for name, alertname, firing in _unit_test_cases() if alertname == alert]
    assert any(firing for _, firing in cases), f"no unit test shows {alert} firing"
    assert any(not firing for _, firing in cases), f"no unit test shows {alert} staying silent"


def _mutated_rules(tmp_path: Path, alert: str, mutate) -> Path:
    """Copy of the rules and unit tests with one alert changed by `mutate(rules_list, index)`."""
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    shutil.copytree(RULE_TESTS_DIR, tmp_path / "tests")
    for path in (tmp_path / "rules").glob("*.yml"):
        data = load_yaml(path)
        for group in data["groups"]:
            for index, rule in enumerate(group["rules"]):
                if rule.get("alert") == alert:
                    mutate(group["rules"], index)
                    path.write_text(yaml.safe_dump(data, sort_keys=False))
                    return tmp_path / "tests"
    raise AssertionError(f"{alert} not found")


@pytest.mark.parametrize("alert", sorted(alerts()))
def test_unit_tests_catch_an_alert_that_never_fires(promtool, tmp_path, alert):
    tests_dir = _mutated_rules(tmp_path, alert, lambda rules, i: rules[i].update(expr="vector(1) == 0"))
    result = run(promtool, "test", "rules", *sorted(tests_dir.glob("*.yml")))
    assert result.returncode != 0, f"the unit tests pass even when {alert} can never fire"
    firing_tests = {name for name, alertname, firing in _unit_test_cases() if alertname == alert and firing}
    assert any(f"name: {name}," in result.stdout + result.stderr for name in firing_tests), output(result)


@pytest.mark.parametrize("alert", sorted(alerts()))
def test_unit_tests_catch_an_alert_that_always_fires(promtool, tmp_path, alert):
    tests_dir = _mutated_rules(tmp_path, alert, lambda rules, i: rules[i].update(expr="vector(1)"))
    result = run(promtool, "test", "rules", *sorted(tests_dir.glob("*.yml")))
    assert result.returncode != 0, f"the unit tests pass even when {alert} always fires"
    silent_tests = {
        name for name, alertname, _ in _unit_test_cases()
        if alertname == alert
        and not any(f for n, a, f in _unit_test_cases() if n == name and a == alert)
    }
    assert silent_tests, f"no unit test group expects {alert} to stay silent throughout"
    assert any(f"name: {name}," in result.stdout + result.stderr for name in silent_tests), output(result)


# --- alert rules --------------------------------------------------------------------------------


def test_required_alerts_exist_with_severity_and_annotations():
    defined = alerts()
    assert REQUIRED_ALERTS <= set(defined), f"missing: {sorted(REQUIRED_ALERTS - set(defined))}"
    for name, rule in defined.items():
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, name
        assert rule.get("annotations", {}).get("summary"), name
        assert rule.get("annotations", {}).get("description"), name


def test_alert_expressions_have_the_intended_shape():
    defined = alerts()
    # Multi-window, multi-burn-rate: a long and a short window of the same ratio, for each speed.
    for slo, budget in (("errors", "0.005"), ("slow", "0.01")):
        kind = "Error" if slo == "errors" else "Latency"
        fast = defined[f"ActiveLog{kind}BudgetBurnFast"]["expr"]
        slow = defined[f"ActiveLog{kind}BudgetBurnSlow"]["expr"]
        for expr, pairs in ((fast, (("1h", "5m", "14.4"), ("6h", "30m", "6"))),
                            (slow, (("1d", "2h", "3"), ("3d", "6h", "")))):
            for long, short, factor in pairs:
                threshold = rf"\({factor} \* {budget}\)" if factor else budget
                for window in (long, short):
                    pattern = rf"job:activelog_request_{slo}:ratio_rate{window} > {threshold}"
                    assert re.search(pattern, expr), (slo, window)
    records = {rule["record"]: rule["expr"] for rule in all_rules() if "record" in rule}
    assert 'status=~"5.."' in records["job:activelog_request_errors:ratio_rate5m"]
    assert 'le="0.5"' in records["job:activelog_request_slow:ratio_rate5m"]
    assert re.fullmatch(r'\s*up\{job=~"activelog-web\|activelog-worker"\}\s*==\s*0\s*',
                        defined["ActiveLogTargetDown"]["expr"])
    assert re.search(r"increase\(activelog_exports_failed_total\[", defined["ActiveLogExportFailures"]["expr"])
    assert 'result="failure"' in defined["ActiveLogLoginFailuresSpike"]["expr"]
    for name, rule in defined.items():
        assert rule["annotations"].get("runbook"), f"{name} has no runbook line"


def test_every_documented_metric_comes_from_the_app_registry():
    """The check above reads the real registry: the business metrics and scrape-time families are in it."""
    for name in ("activelog_exports_failed_total", "activelog_container_cpu_usage_seconds_total",
                 "activelog_export_oldest_pending_age_seconds", "activelog_db_pool_max_connections",
                 "django_http_responses_total_by_status_view_method_total", "django_db_query_duration_seconds"):
        assert name in DOCUMENTED_METRICS, name
    assert DOCUMENTED_METRICS["activelog_exports_failed_total"] == {"format"}
    assert "django_http_requests_latency_seconds_by_view_method" in HISTOGRAMS


def test_rule_expressions_use_only_documented_metrics_and_labels():
    for rule in all_rules():
        name = rule.get("alert") or rule.get("record")
        assert not undocumented_metrics(rule["expr"]), f"{name}: {undocumented_metrics(rule['expr'])}"
        assert not label_problems(rule["expr"]), f"{name}: {label_problems(rule['expr'])}"
        # Exporter metrics (pg_*, redis_*) are checked against the real exporters by the live test.
        reads = (metric_names(rule["expr"]) or "up{" in rule["expr"] or _RECORDED.search(rule["expr"])
                 or re.search(r"\b(pg|redis)_\w+", rule["expr"]))
        assert reads, f"{name} reads no metric of the app, its exporters or its recording rules"


def test_every_recorded_series_an_alert_reads_is_recorded():
    recorded = {rule["record"] for rule in all_rules() if "record" in rule}
    used = {name for rule in all_rules() for name in _RECORDED.findall(_STRING.sub('""', rule["expr"]))}
    assert used and used <= recorded, sorted(used - recorded)


def test_request_metrics_are_scoped_to_the_web_job():
    """django_http_* series exist only on the web job; the selector must say so explicitly."""
    for rule in all_rules():
        for raw_name, body in _SELECTOR.findall(rule["expr"]):
            if raw_name.startswith("django_http_"):
                assert f'job="{APP_JOB}"' in body, f"{rule.get('alert')}: {raw_name}{{{body}}}"
        assert not re.search(r"\bdjango_http_\w+\s*\[", rule["expr"]), f"{rule.get('alert')}: unscoped selector"


# --- the Prometheus configurations --------------------------------------------------------------


def _job(config: dict, name: str) -> dict:
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert name in jobs, f"no scrape job {name!r}: {sorted(jobs)}"
    return jobs[name]


def _rule_globs_match(config_path: Path) -> list[Path]:
    matched = []
    for pattern in load_yaml(config_path)["rule_files"]:
        matched.extend(config_path.parent.glob(pattern))
    return matched


def test_production_config_discovers_every_ecs_task_through_file_sd():
    config = load_yaml(PROD_CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {APP_JOB, "activelog-worker", "postgres-exporter", "redis-exporter", "prometheus"}
    # The ECS discovery sidecar writes one file per job (infra/prometheus/discovery/ecs_sd.py):
    # every RUNNING task, healthy or not, beyond Cloud Map's 8-address DNS answers.
    for name, filename in ((APP_JOB, "web.json"), ("activelog-worker", "worker.json")):
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        assert job.get("scheme", "http") == "http"
        assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
        assert "static_configs" not in job and "dns_sd_configs" not in job and "ec2_sd_configs" not in job
        (file_sd,) = job["file_sd_configs"]
        assert file_sd["files"] == [f"sd/{filename}"], "relative to the config: /etc/prometheus/sd"
        relabel = [r for r in job["relabel_configs"] if r.get("target_label") == "instance"]
        assert relabel and relabel[0]["source_labels"] == ["__address__"], "instance = task IP:port"
        assert not [r for r in job["relabel_configs"] if r.get("target_label") in {"environment", "task"}], (
            "environment and task come from the discovered labels"
        )
    # The web tasks want the METRICS_TOKEN bearer, read from a file; the worker's endpoint has none.
    auth = jobs[APP_JOB]["authorization"]
    assert auth.get("type", "Bearer") == "Bearer"
    assert auth["credentials_file"] and "credentials" not in auth, "the token comes from a file, never inline"
    assert "bearer_token" not in jobs[APP_JOB]
    assert "authorization" not in jobs["activelog-worker"]
    # The sidecars of the Prometheus task, on localhost, each with the environment label.
    for name, target in (("postgres-exporter", "localhost:9187"), ("redis-exporter", "localhost:9121"),
                         ("prometheus", "localhost:9090")):
        (static,) = jobs[name]["static_configs"]
        assert static["targets"] == [target]
        assert static["labels"] == {"environment": "production"}
    # The discovery sidecar Terraform configures writes the same files, with the same environment.
    tf = (ROOT / "infra" / "terraform" / "monitoring.tf").read_text()
    assert re.search(r'web\s*=\s*\{[^}]*file\s*=\s*"web\.json"', tf)
    assert re.search(r'worker\s*=\s*\{[^}]*file\s*=\s*"worker\.json"', tf)
    assert re.search(r'prometheus_environment_label\s*=\s*"production"', tf)
    assert re.search(r'containerPath\s*=\s*"/etc/prometheus/sd"', tf), "the shared volume, where the files are read"


def test_both_configs_load_every_alert_rule_file():
    for config_path in (PROD_CONFIG, LOCAL_CONFIG):
        assert set(_rule_globs_match(config_path)) == set(rule_files()), config_path.name


def test_local_config_scrapes_the_compose_web_service():
    job = _job(load_yaml(LOCAL_CONFIG), APP_JOB)
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert [t for sc in job["static_configs"] for t in sc["targets"]] == ["web:8080"]
    assert job["authorization"]["credentials"], "local token inline (checked against compose)"


# --- Grafana ------------------------------------------------------------------------------------


def _datasources() -> list[dict]:
    return load_yaml(DATASOURCES_FILE)["datasources"]


def test_datasources_have_fixed_unique_uids():
    sources = _datasources()
    uids = [ds.get("uid") for ds in sources]
    assert all(uids) and len(set(uids)) == len(uids), uids
    prometheus = next(ds for ds in sources if ds["type"] == "prometheus")
    assert prometheus["uid"] == "activelog-prometheus"
    assert prometheus["url"] == "${PROMETHEUS_URL}", "set per deployment: compose and the Grafana task"
    assert sum(bool(ds.get("isDefault")) for ds in sources) == 1
