"""The container stack is wired as designed: read docker-compose.yml and the Dockerfiles.

No Docker engine: the files are parsed, and the module paths they start are checked against
the source tree, so a rename breaks this test instead of a deployment.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from copydesk.core.names import QUEUES
from copydesk.core.settings import Settings
from secrets_read import SECRETS, code_reads, variables_read

ROOT = Path(__file__).resolve().parents[2]
WORKER_SERVICES = sorted(f"worker-{queue}" for queue in QUEUES)
APP_SERVICES = {"intake", "dispatcher", "flower", *WORKER_SERVICES}
DOCKERFILES = {"intake": "services/intake/Dockerfile", "workers": "services/workers/Dockerfile"}
PASSWORD = "${COPYDESK_REDIS_PASSWORD:?set COPYDESK_REDIS_PASSWORD (openssl rand -hex 24)}"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def argv(command: str | list) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def option(args: list[str], *names: str) -> str:
    """Return the single value of an option given as ``--name value`` or ``--name=value``."""
    values = []
    for i, arg in enumerate(args):
        for name in names:
            if arg == name:
                values.append(args[i + 1])
            elif arg.startswith(name + "="):
                values.append(arg.split("=", 1)[1])
    assert len(values) == 1, f"expected one {names} in {args}"
    return values[0]


def env(service: dict) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: str(value) for key, value in raw.items()}


def module_file(module: str) -> Path:
    """Map a ``copydesk.<part>`` module to its file in the namespace layout."""
    parts = module.split(".")
    assert parts[0] == "copydesk"
    found = [
        path
        for base in ("shared", "services/intake", "services/workers", "services/dispatcher")
        if (path := ROOT / base / Path(*parts).with_suffix(".py")).is_file()
    ]
    assert len(found) == 1, (module, found)
    return found[0]


def top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def test_services_are_redis_intake_and_one_worker_per_queue(services: dict) -> None:
    assert set(services) == {
        "redis",
        "postgres",
        "migrate",
        "intake",
        "worker-prepare",
        "worker-summary",
        "worker-sentiment",
        "worker-topics",
        "worker-entities",
        "worker-keyphrases",
        "worker-quotes",
        "worker-stories",
        "dispatcher",
        "flower",
    }


@pytest.mark.parametrize("name", WORKER_SERVICES)
def test_worker_consumes_exactly_its_queue(services: dict, name: str) -> None:
    queue = name.removeprefix("worker-")
    args = argv(services[name]["command"])
    assert args[:4] == ["celery", "-A", "copydesk.workers.celery_app", "worker"]
    assert option(args, "--queues", "-Q").split(",") == [queue]
    assert option(args, "--hostname", "-n") == f"{queue}@%h"
    assert option(args, "--concurrency", "-c") == "1"


def test_worker_queues_are_exactly_the_named_queues(services: dict) -> None:
    consumed = []
    for name in WORKER_SERVICES:
        consumed += option(argv(services[name]["command"]), "--queues", "-Q").split(",")
    assert sorted(consumed) == sorted(QUEUES)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_uses_the_redis_service_with_its_password(services: dict, name: str) -> None:
    assert env(services[name])["COPYDESK_REDIS_URL"] == f"redis://:{PASSWORD}@redis:6379/0"
    assert option(argv(services["redis"]["command"]), "--requirepass") == PASSWORD
    assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_each_service_gets_only_the_secrets_its_code_reads(services: dict, name: str) -> None:
    """The intake reads the API keys, the metrics key and the secrets key (it seals webhook
    secrets), the dispatcher the secrets key (it opens them to sign), workers and Flower none:
    one shared block would hand every container every secret."""
    folder = {"intake": "intake", "dispatcher": "dispatcher"}.get(name, "workers")
    given = {key for key in env(services[name]) if key in SECRETS.values()}
    assert given == variables_read(folder)
    assert ("FLOWER_BASIC_AUTH" in env(services[name])) == (name == "flower")
    assert {"api_keys", "metrics_key", "secrets_key"} <= code_reads("intake")
    assert code_reads("workers") == set() and "secrets_key" in code_reads("dispatcher")


@pytest.mark.parametrize("name", WORKER_SERVICES)
def test_worker_runs_offline_with_one_thread(services: dict, name: str) -> None:
    variables = env(services[name])
    assert variables["HF_HUB_OFFLINE"] == "1"
    assert variables["TRANSFORMERS_OFFLINE"] == "1"
    assert variables["OMP_NUM_THREADS"] == "1"
    assert services[name]["restart"] == "unless-stopped"


def test_redis_persists_with_append_only_file(services: dict, compose: dict) -> None:
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    args = argv(redis["command"])
    assert option(args, "--appendonly") == "yes"
    assert option(args, "--appendfsync") == "everysec"
    assert "redis-data:/data" in redis["volumes"]
    assert "redis-data" in compose["volumes"]


def test_redis_is_bounded_and_never_evicts(services: dict) -> None:
    """noeviction alone is inert: without maxmemory Redis grows until the kernel kills it.
    The bound is COPYDESK_REDIS_MAXMEMORY, with the setting's default."""
    args = argv(services["redis"]["command"])
    default = Settings.model_fields["redis_maxmemory"].default
    assert option(args, "--maxmemory") == f"${{COPYDESK_REDIS_MAXMEMORY:-{default}}}"
    assert option(args, "--maxmemory-policy") == "noeviction"
    # a node is allocated whole: 1 kB ones hold a job's few events in 1.3 kB, not 4.4 kB
    assert option(args, "--stream-node-max-bytes") == "1024"


@pytest.mark.parametrize("name", ["redis", *sorted(APP_SERVICES)])
def test_every_service_has_a_healthcheck(services: dict, name: str) -> None:
    check = services[name]["healthcheck"]
    assert check["test"][0] in {"CMD", "CMD-SHELL"} and len(check["test"]) >= 2


def test_redis_healthcheck_pings_with_the_password(services: dict) -> None:
    redis = services["redis"]
    assert env(redis)["REDISCLI_AUTH"] == PASSWORD  # redis-cli reads it
    assert redis["healthcheck"]["test"] == ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
    assert "ports" not in redis  # reached on the compose network only


@pytest.mark.parametrize("name", WORKER_SERVICES)
def test_worker_healthcheck_pings_its_own_node(services: dict, name: str) -> None:
    queue = name.removeprefix("worker-")
    kind, command = services[name]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"  # the shell expands $HOSTNAME
    args = shlex.split(command.replace("$$", "$"))  # compose turns $$ into a literal $
    assert args[:5] == ["celery", "-A", "copydesk.workers.celery_app", "inspect", "ping"]
    assert option(args, "-d", "--destination") == f"{queue}@$HOSTNAME"
    assert "$$HOSTNAME" in command  # unescaped, compose would interpolate it on the host


def test_the_archive_is_migrated_once_before_the_services_that_read_or_write_it(
    services: dict,
) -> None:
    migrate = services["migrate"]
    assert argv(migrate["command"]) == ["python", "-m", "copydesk.archive.migrate"]
    assert "main" in top_level_names(module_file("copydesk.archive.migrate"))
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("intake", "dispatcher"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg")
    assert "ports" not in services["postgres"]  # reached on the compose network only


def test_dispatcher_runs_the_dispatcher_module_and_checks_it(services: dict) -> None:
    dispatcher = services["dispatcher"]
    assert argv(dispatcher["command"]) == ["python", "-m", "copydesk.deliver.dispatcher"]
    assert dispatcher["healthcheck"]["test"][1:] == [
        "python", "-m", "copydesk.deliver.dispatcher", "check"
    ]  # fmt: skip
    path = module_file("copydesk.deliver.dispatcher")
    assert {"main"} <= top_level_names(path)
    assert "__main__" in path.read_text()
    assert env(dispatcher)["COPYDESK_SECRETS_KEY"]  # it opens the sealed webhook secrets
    assert dispatcher["restart"] == "unless-stopped"


def test_flower_monitors_the_same_celery_app_only_when_asked_and_behind_a_password(
    services: dict,
) -> None:
    flower = services["flower"]
    shell, flag, script = argv(flower["command"])
    assert (shell, flag) == ("sh", "-c")
    guard, _, started = script.partition("; exec ")
    assert guard.startswith('test -n "$$FLOWER_BASIC_AUTH" || {') and "exit 64" in guard
    args = shlex.split(started)
    assert args[:4] == ["celery", "-A", "copydesk.workers.celery_app", "flower"]
    assert option(args, "--port") == "5555" and option(args, "--address") == "0.0.0.0"
    assert flower["ports"] == ["127.0.0.1:5555:5555"]  # the host's loopback only
    assert flower["profiles"] == ["monitor"]  # not started by a plain `docker compose up`
    assert "/healthcheck" in " ".join(flower["healthcheck"]["test"])  # open in Flower
    assert env(flower)["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"


def test_the_flower_guard_refuses_to_start_without_basic_auth(services: dict) -> None:
    """Run the guard as the container's shell would (compose turns $$ into $)."""
    import subprocess

    script = argv(services["flower"]["command"])[2].replace("$$", "$")
    guard = script.partition("; exec ")[0]
    for value, code in (("", 64), ("admin:s3cret", 0)):
        run = subprocess.run(
            ["sh", "-c", guard], env={"FLOWER_BASIC_AUTH": value, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
        assert run.returncode == code
        assert ("FLOWER_BASIC_AUTH" in run.stderr) == (code != 0)


def test_intake_serves_the_wsgi_app_on_port_8000(services: dict) -> None:
    intake = services["intake"]
    args = argv(intake["command"])
    assert args[0] == "gunicorn"
    assert option(args, "--bind", "-b") == "0.0.0.0:8000"
    config = option(args, "--config", "-c").removeprefix("python:")
    assert module_file(config).is_file()  # its errors are problems too
    assert "8000:8000" in intake["ports"]
    assert env(intake)["COPYDESK_HTTP_HOST"] == "0.0.0.0"
    check = " ".join(intake["healthcheck"]["test"])
    assert "urllib" in check and "http://127.0.0.1:8000/healthz" in check


def test_intake_command_names_an_existing_wsgi_app(services: dict) -> None:
    target = argv(services["intake"]["command"])[-1]
    module, _, attribute = target.partition(":")
    path = module_file(module)
    assert path == ROOT / "services/intake/copydesk/intake/wsgi.py"
    assert path.is_file(), f"{path} is missing"
    assert attribute in top_level_names(path)


def test_workers_and_their_healthchecks_start_an_existing_celery_app(services: dict) -> None:
    apps = set()
    for name in WORKER_SERVICES:
        apps.add(option(argv(services[name]["command"]), "-A"))
        apps.add(option(shlex.split(services[name]["healthcheck"]["test"][1]), "-A"))
    assert apps == {"copydesk.workers.celery_app"}
    path = module_file("copydesk.workers.celery_app")
    assert path == ROOT / "services/workers/copydesk/workers/celery_app.py"
    assert path.is_file(), f"{path} is missing"
    assert {"app", "celery"} & top_level_names(path)  # what `celery -A module` looks up


@pytest.mark.parametrize(
    ("name", "role"),
    [("intake", "intake"), ("dispatcher", "workers"), ("flower", "workers")]
    + [(n, "workers") for n in WORKER_SERVICES],
)
def test_service_builds_its_role_dockerfile(services: dict, name: str, role: str) -> None:
    build = services[name]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == DOCKERFILES[role]
    assert (ROOT / build["dockerfile"]).is_file()


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    text = (ROOT / dockerfile).read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_dockerfile_installs_its_extra_as_a_non_root_user(role: str) -> None:
    steps = instructions(DOCKERFILES[role])
    assert steps[0] == ("FROM", "python:3.11-slim")
    copied = " ".join(arg for op, arg in steps if op == "COPY")
    for needed in ("pyproject.toml", "README.md", "shared", "services"):
        assert needed in copied
    installs = [arg for op, arg in steps if op == "RUN" and "pip install" in arg]
    extras = set(re.findall(r"'\.\[([a-z-]+)\]'", " ".join(installs)))
    assert extras == {role}
    assert all("--no-cache-dir" in arg for arg in installs)
    env_text = " ".join(arg for op, arg in steps if op == "ENV")
    assert "PYTHONUNBUFFERED=1" in env_text and "HF_HUB_OFFLINE=1" in env_text
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    last_install = max(i for i, (op, arg) in enumerate(steps) if "pip install" in arg)
    assert max(i for i, (op, _) in enumerate(steps) if op == "USER") > last_install


def test_extras_named_by_dockerfiles_exist_in_pyproject() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(DOCKERFILES) <= set(extras)
    assert not any(dep.startswith("torch") for dep in extras["intake"])


def test_workers_image_installs_cpu_torch_before_the_extra() -> None:
    steps = instructions(DOCKERFILES["workers"])
    installs = [arg for op, arg in steps if op == "RUN" and "pip install" in arg]
    torch_step = next(i for i, arg in enumerate(installs) if "torch" in arg)
    extra_step = next(i for i, arg in enumerate(installs) if "'.[workers]'" in arg)
    assert torch_step < extra_step
    torch = installs[torch_step]
    assert "torch==2.13.0" in torch
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["workers"]
    assert "torch==2.13.0" in pinned  # the pre-installed CPU build satisfies the extra's pin


def test_intake_image_has_no_torch() -> None:
    text = (ROOT / DOCKERFILES["intake"]).read_text()
    assert "torch" not in re.sub(r"#.*", "", text)


def test_dockerignore_keeps_the_venv_and_git_out_but_not_the_sources() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv"} <= patterns
    assert not patterns & {"shared", "services", "pyproject.toml", "README.md", "*", "**"}


def test_docker_compose_itself_accepts_the_file(tmp_path: Path) -> None:
    """Debian's docker-compose (installed by `make test`) parses, interpolates and validates
    the file against the Compose schema, with no engine."""
    import shutil
    import subprocess

    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make tools` installs it"
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env = {**bare, "COPYDESK_REDIS_PASSWORD": "0123abcd", "COPYDESK_POSTGRES_PASSWORD": "4567ef"}
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == set(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    )
    redis = [str(arg) for arg in resolved["services"]["redis"]["command"]]
    assert option(redis, "--maxmemory") == Settings.model_fields["redis_maxmemory"].default
    assert option(redis, "--maxmemory-policy") == "noeviction"  # with a bound, it means something
    assert option(redis, "--requirepass") == "0123abcd"
    for name in APP_SERVICES:
        url = urlsplit(resolved["services"][name]["environment"]["COPYDESK_REDIS_URL"])
        assert (url.password, url.hostname, url.port) == ("0123abcd", "redis", 6379)
    for name in {"migrate", "intake", "dispatcher", *WORKER_SERVICES}:
        url = urlsplit(resolved["services"][name]["environment"]["COPYDESK_DATABASE_URL"])
        assert (url.password, url.hostname, url.path) == ("4567ef", "postgres", "/copydesk")
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "4567ef"
    sized = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60,
        env={**env, "COPYDESK_REDIS_MAXMEMORY": "256mb"},
    )  # fmt: skip
    command = yaml.safe_load(sized.stdout)["services"]["redis"]["command"]
    assert option([str(arg) for arg in command], "--maxmemory") == "256mb"
    no_password = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60, env=bare,
    )  # fmt: skip
    assert no_password.returncode != 0 and "COPYDESK_REDIS_PASSWORD" in no_password.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("    command:", "    commandd:", 1)
    )
    refused = subprocess.run(
        [binary, "-f", str(broken), "config"], capture_output=True, text=True, timeout=60, env=env
    )
    assert refused.returncode != 0  # the check can fail
