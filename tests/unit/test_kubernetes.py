"""The Kubernetes manifests are valid and wired as designed (no cluster needed).

Core kinds are validated against the Kubernetes OpenAPI schemas that kubernetes-validate
ships (strict: unknown fields are errors). KEDA's ScaledObject is validated against the
schema of the fields used here, from KEDA's CRD (keda.sh/v1alpha1).
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from copydesk.core.names import QUEUES, queue_keys
from secrets_read import SECRETS, variables_read

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "services/kubernetes/copydesk.yaml"
KUBERNETES = "1.33.0"

SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "redis"},
                            "name": {"type": "string"},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                                "required": ["listName", "listLength"],
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def resources() -> list[dict]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]


def by_name(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_core_resources_validate_strictly_against_kubernetes(resources: list[dict]) -> None:
    core = [r for r in resources if r["kind"] != "ScaledObject"]
    assert {r["kind"] for r in core} == {"Deployment", "Service", "Job"}
    for resource in core:
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def test_the_validation_would_catch_a_mistake(resources: list[dict]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(by_name(resources, "Deployment")["copydesk-intake"]))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    scaled = yaml.safe_load(
        yaml.safe_dump(by_name(resources, "ScaledObject")["copydesk-worker-topics"])
    )
    scaled["spec"]["minReplicas"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, SCALED_OBJECT)


def test_one_worker_deployment_and_scaled_object_per_queue(resources: list[dict]) -> None:
    deployments = by_name(resources, "Deployment")
    scaled = by_name(resources, "ScaledObject")
    assert set(scaled) == {f"copydesk-worker-{q}" for q in QUEUES}
    for queue in QUEUES:
        name = f"copydesk-worker-{queue}"
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        args = container["command"]
        assert args[:4] == ["celery", "-A", "copydesk.workers.celery_app", "worker"]
        assert args[args.index("--queues") + 1] == queue
        probe = container["livenessProbe"]["exec"]["command"][-1]
        assert f"-d {queue}@$HOSTNAME" in probe
        jsonschema.validate(scaled[name], SCALED_OBJECT)
        assert scaled[name]["spec"]["scaleTargetRef"]["name"] == name
        lists = [t["metadata"]["listName"] for t in scaled[name]["spec"]["triggers"]]
        assert lists == queue_keys(queue)  # every priority list of the queue, as Redis names it


def test_intake_probes_and_the_other_services(resources: list[dict]) -> None:
    deployments = by_name(resources, "Deployment")
    [intake] = deployments["copydesk-intake"]["spec"]["template"]["spec"]["containers"]
    assert intake["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert intake["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "copydesk.intake.wsgi:app" in intake["command"]
    [dispatcher] = deployments["copydesk-dispatcher"]["spec"]["template"]["spec"]["containers"]
    assert dispatcher["command"] == ["python", "-m", "copydesk.deliver.dispatcher"]
    assert dispatcher["livenessProbe"]["exec"]["command"][-1] == "check"
    assert "copydesk-flower" in deployments
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]
            assert {"secretRef": {"name": "copydesk-redis"}} in container["envFrom"]


def created_secrets() -> dict[str, set[str]]:
    """The secrets the manifest's notes create (``kubectl create secret generic``), by key."""
    notes = "".join(
        line.lstrip("# ") for line in MANIFEST.read_text().split("---")[0].splitlines(True)
    ).replace("\\\n", " ")
    secrets = {}
    for command in notes.split("kubectl create secret generic ")[1:]:
        name, *flags = command.split("\n")[0].split()
        secrets[name] = {f.split("=")[1] for f in flags if f.startswith("--from-literal=")}
    return secrets


def test_each_workload_mounts_only_the_secrets_its_code_reads(resources: list[dict]) -> None:
    """One shared secret handed every pod every key; now the intake gets the API keys, the
    metrics key and the secrets key, the dispatcher the secrets key, workers and Flower none
    but Redis's (and Flower its basic auth)."""
    created = created_secrets()
    assert set(created) == {"copydesk-redis", "copydesk-intake", "copydesk-webhooks",
                            "copydesk-flower", "copydesk-database"}  # fmt: skip
    for name, deployment in by_name(resources, "Deployment").items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        mounted = [ref["secretRef"]["name"] for ref in container["envFrom"]]
        given = set().union(*(created[secret] for secret in mounted)) & set(SECRETS.values())
        role = name.removeprefix("copydesk-")
        folder = {"intake": "intake", "dispatcher": "dispatcher"}.get(role, "workers")
        optional = {"COPYDESK_WEBHOOK_SECRET"}  # one shared signing secret, if an operator wants
        assert given == variables_read(folder) - optional, name
        picked = {e["name"]: e.get("valueFrom") for e in container.get("env", [])}
        assert ("FLOWER_BASIC_AUTH" in picked) == (role == "flower")
    [flower] = by_name(resources, "Deployment")["copydesk-flower"]["spec"]["template"]["spec"][
        "containers"
    ]
    auth = next(e for e in flower["env"] if e["name"] == "FLOWER_BASIC_AUTH")
    ref = auth["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "copydesk-flower", "key": "FLOWER_BASIC_AUTH"}  # not optional
    assert created["copydesk-flower"] == {"FLOWER_BASIC_AUTH"}
    assert by_name(resources, "Service")["copydesk-flower"]["spec"].get("type", "ClusterIP") == (
        "ClusterIP"
    )  # inside the cluster only


def test_the_archive_is_an_external_postgres_migrated_by_a_job(resources: list[dict]) -> None:
    assert created_secrets()["copydesk-database"] == {"COPYDESK_DATABASE_URL"}
    [job] = by_name(resources, "Job").values()
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "copydesk.archive.migrate"]
    assert container["envFrom"] == [{"secretRef": {"name": "copydesk-database"}}]
    for name, deployment in by_name(resources, "Deployment").items():
        [app] = deployment["spec"]["template"]["spec"]["containers"]
        mounted = {ref["secretRef"]["name"] for ref in app["envFrom"]}
        assert ("copydesk-database" in mounted) == (name != "copydesk-flower"), name
    notes = MANIFEST.read_text().split("---")[0]
    assert (
        "pgvector" in notes
        and "kubectl wait --for=condition=complete job/copydesk-migrate" in notes
    )


def test_redis_notes_ask_for_a_password_a_bound_and_noeviction() -> None:
    notes = MANIFEST.read_text().split("---")[0]
    assert created_secrets()["copydesk-redis"] == {
        "COPYDESK_REDIS_URL", "COPYDESK_REDIS_HOST_PORT", "COPYDESK_REDIS_PASSWORD"
    }  # fmt: skip
    assert "COPYDESK_REDIS_URL=redis://:password@" in notes
    for needed in ("requirepass", "maxmemory", "noeviction", "COPYDESK_REDIS_MAXMEMORY"):
        assert needed in notes


def test_prometheus_scrapes_the_intake_with_the_metrics_key(resources: list[dict]) -> None:
    template = by_name(resources, "Deployment")["copydesk-intake"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "8000",
        "prometheus.io/path": "/metrics",
    }  # fmt: skip
    assert "COPYDESK_METRICS_KEY" in created_secrets()["copydesk-intake"]
    notes = MANIFEST.read_text().split("---")[0]
    assert "authorization: {type: Bearer, credentials_file:" in notes


def test_manifest_images_are_the_ones_compose_builds(resources: list[dict]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    built = {service.get("image") for service in compose.values()}
    for deployment in by_name(resources, "Deployment").values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["image"] in built
    # the intake runs the same command in both
    assert by_name(resources, "Deployment")["copydesk-intake"]["spec"]["template"]["spec"][
        "containers"
    ][0]["command"] == [str(a) for a in compose["intake"]["command"]]
