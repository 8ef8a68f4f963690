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
    assert {r["kind"] for r in core} == {"Deployment", "Service"}
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
            assert {"secretRef": {"name": "copydesk-secrets"}} in container["envFrom"]


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
