"""The container image, without a Docker engine: hadolint, then the Dockerfile's own build steps
replayed in a fresh virtualenv from the build context .dockerignore allows, and the image's CMD
started and probed with the image's HEALTHCHECK command."""

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import PRODUCTION_ENV, ROOT, free_port, wait_for_http

pytestmark = pytest.mark.slow
PYTHON_312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")  # the image's Python, when present


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    result, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, rest = current.partition(" ")
            result.append((keyword.upper(), rest.strip()))
            current = ""
    return result


def ignored(relative: str, patterns: list[str]) -> bool:
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        bare = pattern.removeprefix("**/")
        parts = relative.split("/")
        hit = (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, bare)
               or fnmatch.fnmatch(parts[-1], bare)
               or any(fnmatch.fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts))))
        if hit:
            verdict = not negate
    return verdict


def build_context(destination: Path) -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             check=True, capture_output=True, text=True).stdout.split()
    for relative in tracked:
        if (ROOT / relative).is_file() and not ignored(relative, patterns):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target)


def test_hadolint_passes():
    result = subprocess.run([str(Path(sys.executable).parent / "hadolint"), "Dockerfile"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape():
    steps = instructions()
    stages = [args for keyword, args in steps if keyword == "FROM"]
    assert stages == ["python:3.12-slim AS build", "python:3.12-slim AS runtime"]
    runtime = steps[[i for i, (k, _) in enumerate(steps) if k == "FROM"][1]:]
    keywords = dict(runtime)
    assert keywords["USER"].split(":")[0] == "10001"
    assert keywords["EXPOSE"] == "8080"
    assert json.loads(keywords["CMD"])[:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert "PYTHONUNBUFFERED=1" in " ".join(a for k, a in runtime if k == "ENV")
    assert "python" in keywords["HEALTHCHECK"] and "/health/live" in keywords["HEALTHCHECK"]
    assert not any("pip install" in a for k, a in runtime if k == "RUN"), "no build tooling in the final stage"


def test_image_build_steps_and_cmd_work(tmp_path):
    context, venv, app = tmp_path / "context", tmp_path / "opt-venv", tmp_path / "app"
    build_context(context)
    assert not (context / "tests").exists() and (context / "gunicorn.conf.py").exists()
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "python").symlink_to(PYTHON_312 if PYTHON_312.exists() else Path(sys.executable))

    def mapped(text: str) -> str:
        return text.replace("/opt/venv", str(venv)).replace("/app", str(app))

    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": f"{shim}:/usr/local/bin:/usr/bin:/bin",
           "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache/pip"))}
    workdir, stage = tmp_path, None
    for keyword, args in instructions():
        if keyword == "FROM":
            stage = args.split()[-1]
        elif keyword in ("ENV", "ARG"):
            for name, _, value in (pair.partition("=") for pair in shlex.split(args)):
                value = value.replace("$PATH", env["PATH"]).replace("$APP_VERSION", env.get("APP_VERSION", "test"))
                env[name] = mapped(value) if value else env.get(name, "test")
        elif keyword == "WORKDIR":
            workdir = Path(mapped(args))
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and "--from=" not in args:
            *sources, _target = shlex.split(args)
            for source in sources:
                path = context / source
                if path.is_dir():
                    shutil.copytree(path, workdir, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, workdir / Path(source).name)
        elif keyword == "RUN":
            if "useradd" in args:  # creating the OS user needs root in a real image; nothing to replay
                continue
            command = mapped(args).replace("sqlite:////tmp/", f"sqlite:///{tmp_path}/")
            result = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True,
                                    text=True, timeout=600)
            assert result.returncode == 0, f"[{stage}] RUN {args}\n{result.stdout}\n{result.stderr}"
        elif keyword == "CMD":
            cmd = json.loads(args)
        elif keyword == "HEALTHCHECK":
            healthcheck = json.loads(args.split("CMD", 1)[1].strip())

    assert (app / "staticfiles" / "staticfiles.json").exists(), "collectstatic ran at build time"
    port = free_port()
    runtime_env = {**env, **PRODUCTION_ENV, "PORT": str(port),
                   "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
                   "REDIS_URL": "redis://127.0.0.1:6379/15", "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"}
    server = subprocess.Popen(cmd, cwd=workdir, env=runtime_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live", process=server)
        probe = [c.replace("8080", str(port)) for c in healthcheck]
        assert subprocess.run(probe, env=runtime_env, timeout=10).returncode == 0
        manifest = json.loads((app / "staticfiles" / "staticfiles.json").read_text())["paths"]
        hashed = manifest["css/site.css"]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/static/{hashed}",
                                         headers={"Host": "localhost", "X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert "max-age=315360000" in response.headers["Cache-Control"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=40)
    assert server.returncode == 0, output.decode()
