"""Prometheus configuration, alert rules and Grafana dashboards, checked with the real promtool.

promtool comes from Debian's `prometheus` package (`make system-deps` installs it); when it is
missing these tests fail rather than skip, so a CI machine without it cannot pass silently.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

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
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"

# The metrics the app exports (django-prometheus >= 2.5 and ActiveLog's own), with their labels.
# Histograms are listed by their base name; _bucket/_count/_sum are derived. Every name used in
# an alert rule or a dashboard must be one of these.
DOCUMENTED_METRICS: dict[str, set[str]] = {
    "django_http_requests_total_by_view_transport_method_total": {"view", "transport", "method"},
    "django_http_requests_latency_seconds_by_view_method": {"view", "method"},
    "django_http_responses_total_by_status_view_method_total": {"status", "view", "method"},
    "django_db_execute_total": {"alias", "vendor"},
    "django_db_errors_total": {"alias", "vendor", "type"},
    "django_cache_get_hits_total": {"backend"},
    "django_cache_get_misses_total": {"backend"},
    "activelog_activities_created_total": {"activity_type"},
    "activelog_photos_uploaded_total": set(),
    "activelog_exports_requested_total": set(),
    "activelog_exports_completed_total": set(),
    "activelog_exports_failed_total": set(),
    "activelog_logins_total": {"result"},
    "activelog_stats_cache_requests_total": {"result"},
    "activelog_throttled_requests_total": {"scope"},
}
HISTOGRAMS = {"django_http_requests_latency_seconds_by_view_method"}
# Label values that are a closed set in the app.
DOCUMENTED_LABEL_VALUES = {
    ("activelog_logins_total", "result"): {"success", "failure"},
    ("activelog_stats_cache_requests_total", "result"): {"hit", "miss"},
}
# Labels Prometheus attaches at scrape time, and the histogram bucket label.
TARGET_LABELS = {"job", "instance", "le"}
APP_JOB = "activelog-web"

REQUIRED_ALERTS = {
    "ActiveLogHigh5xxRate",
    "ActiveLogHighLatencyP95",
    "ActiveLogTargetDown",
    "ActiveLogExportFailures",
    "ActiveLogLoginFailuresSpike",
}

# Grafana's macros, replaced by plain durations so promtool can parse the expressions.
GRAFANA_MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if path is None:
        pytest.fail("promtool is not installed: run `make system-deps` (Debian package `prometheus`)")
    return path


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


def dashboards() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def dashboard_panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_exprs() -> list[tuple[str, str]]:
    exprs = []
    for path in dashboards():
        for panel in dashboard_panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                exprs.append((f"{path.name}: {panel['title']} [{target.get('refId')}]", target["expr"]))
    return exprs


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_METRIC = re.compile(r"\b((?:django|activelog)_[a-zA-Z0-9_]+)\b")
_SELECTOR = re.compile(r"\b((?:django|activelog)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
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
    assert f"SUCCESS: {len(all_rules())} rules found" in result.stdout, output(result)


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
    assert re.search(r'status\s*=~\s*"5\.\."', defined["ActiveLogHigh5xxRate"]["expr"])
    latency = defined["ActiveLogHighLatencyP95"]["expr"]
    assert re.search(r"histogram_quantile\(\s*0\.95\s*,", latency)
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in latency
    assert re.search(r"sum by \(le\)", latency), "quantiles need the le label kept"
    assert re.fullmatch(rf'\s*up\{{job="{APP_JOB}"\}}\s*==\s*0\s*', defined["ActiveLogTargetDown"]["expr"])
    assert re.search(r"increase\(activelog_exports_failed_total\[", defined["ActiveLogExportFailures"]["expr"])
    assert 'result="failure"' in defined["ActiveLogLoginFailuresSpike"]["expr"]


def test_rule_expressions_use_only_documented_metrics_and_labels():
    for rule in all_rules():
        name = rule.get("alert") or rule.get("record")
        assert not undocumented_metrics(rule["expr"]), f"{name}: {undocumented_metrics(rule['expr'])}"
        assert not label_problems(rule["expr"]), f"{name}: {label_problems(rule['expr'])}"
        assert metric_names(rule["expr"]) or "up{" in rule["expr"], f"{name} reads no ActiveLog metric"


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


def test_production_config_discovers_tasks_through_cloud_map_dns():
    config = load_yaml(PROD_CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    job = _job(config, APP_JOB)
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job.get("scheme", "http") == "http"
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
    assert "static_configs" not in job and "ec2_sd_configs" not in job
    (dns,) = job["dns_sd_configs"]
    assert dns["type"] == "A"
    assert dns["port"] == 8080
    assert dns["names"] == ["web.activelog.internal"]
    assert "web.activelog.internal" in PROD_CONFIG.read_text().split("scrape_configs:")[0], "placeholder documented"
    # The name Terraform registers the web tasks under (default namespace) is the one scraped.
    tf = "\n".join(p.read_text() for p in sorted((ROOT / "infra" / "terraform").glob("*.tf")))
    namespace = re.search(r'variable "service_discovery_namespace".*?default\s*=\s*"([^"]+)"', tf, re.S)
    service = re.search(r'resource "aws_service_discovery_service" "web".*?name\s*=\s*"([^"]+)"', tf, re.S)
    assert namespace and service, "Terraform's Cloud Map service/namespace not found"
    assert dns["names"] == [f"{service[1]}.{namespace[1]}"]
    auth = job["authorization"]
    assert auth.get("type", "Bearer") == "Bearer"
    assert auth["credentials_file"] and "credentials" not in auth, "the token comes from a file, never inline"
    assert "bearer_token" not in job
    relabel = [r for r in job["relabel_configs"] if r.get("target_label") == "instance"]
    assert relabel and relabel[0]["source_labels"] == ["__address__"], "instance = task IP:port"


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


def _prometheus_uid() -> str:
    (prometheus,) = [ds for ds in _datasources() if ds["type"] == "prometheus"]
    return prometheus["uid"]


def test_datasources_have_fixed_unique_uids():
    sources = _datasources()
    uids = [ds.get("uid") for ds in sources]
    assert all(uids) and len(set(uids)) == len(uids), uids
    prometheus = next(ds for ds in sources if ds["type"] == "prometheus")
    assert prometheus["uid"] == "activelog-prometheus"
    assert prometheus["url"] == "http://prometheus:9090"
    assert sum(bool(ds.get("isDefault")) for ds in sources) == 1


def test_dashboards_are_valid_json_with_unique_ids_and_no_overlap():
    assert dashboards(), f"no dashboards in {DASHBOARDS_DIR}"
    uids = []
    for path in dashboards():
        dashboard = json.loads(path.read_text())
        uids.append(dashboard["uid"])
        assert dashboard["title"]
        panels = dashboard_panels(dashboard)
        ids = [p["id"] for p in panels]
        assert len(set(ids)) == len(ids), f"{path.name}: duplicate panel ids"
        cells: dict[tuple[int, int], str] = {}
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]
    assert len(set(uids)) == len(uids)


def test_every_panel_and_query_uses_the_provisioned_datasource():
    uid = _prometheus_uid()
    for path in dashboards():
        dashboard = json.loads(path.read_text())
        for panel in dashboard_panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, f"{path.name}: {panel['title']}"
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target.get("datasource", panel["datasource"])["uid"] == uid, panel["title"]
        for variable in dashboard.get("templating", {}).get("list", []):
            if "datasource" in variable:
                assert variable["datasource"]["uid"] == uid, variable["name"]
        # Any datasource reference anywhere in the JSON (annotations included) is the provisioned one.
        for found in re.findall(r'"uid":\s*"([^"]+)"', json.dumps(dashboard.get("annotations", {}))):
            assert found == uid


def test_dashboard_queries_use_only_documented_metrics_and_labels():
    for where, expr in dashboard_exprs():
        assert not undocumented_metrics(expr), f"{where}: {undocumented_metrics(expr)}"
        assert not label_problems(expr), f"{where}: {label_problems(expr)}"


def test_dashboard_shows_every_documented_metric():
    used = set().union(*(metric_names(expr) for _, expr in dashboard_exprs()))
    assert set(DOCUMENTED_METRICS) - used == set()


def test_dashboard_has_the_panels_an_operator_needs():
    titles = " | ".join(
        p["title"].lower() for path in dashboards() for p in dashboard_panels(json.loads(path.read_text()))
    )
    for needed in ("request rate by view", "p50 / p95 / p99", "5xx ratio", "activities created by type",
                   "logins", "cache hit ratio", "exports", "database queries", "database errors", "throttled"):
        assert needed in titles, needed
    latency = [expr for where, expr in dashboard_exprs() if "p50 / p95 / p99" in where.lower()]
    assert {re.search(r"histogram_quantile\(\s*([\d.]+)", e).group(1) for e in latency} == {"0.5", "0.95", "0.99"}


def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """promtool parses each query as a recording rule (Grafana's macros replaced by durations)."""
    rules = []
    for index, (_, expr) in enumerate(dashboard_exprs()):
        for macro, duration in GRAFANA_MACROS.items():
            expr = expr.replace(macro, duration)
        assert "$" not in expr, f"unknown Grafana macro in {expr}"
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(promtool, "check", "rules", path)
    assert result.returncode == 0, output(result)
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout
