"""Sizing by settings, not constants, and deployment files that agree with the code:
every DRIPSTONE_* name the Kubernetes manifests set or mention is a real setting."""

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy.pool import QueuePool

from projections.database import make_engine
from settings import Settings
from worker import build_worker

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def setting_names() -> set[str]:
    names = {"DATABASE_URL"}
    for name, _field in Settings.model_fields.items():
        names.add(f"DRIPSTONE_{name.upper()}")
    return names


def test_every_setting_the_manifests_name_exists():
    named = set()
    for manifest in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        named |= set(re.findall(r"\b(DRIPSTONE_[A-Z0-9_]+|DATABASE_URL)\b", manifest.read_text()))
    assert named, "no setting found in the manifests"
    assert named - setting_names() == set()


async def test_the_worker_takes_its_concurrency_and_shutdown_period_from_settings(
    time_skipping_env, settings
):
    sized = settings.model_copy(
        update={
            "worker_activity_threads": 4,
            "worker_workflow_tasks": 7,
            "worker_shutdown_seconds": 12.5,
        }
    )
    config = build_worker(time_skipping_env.client, sized, []).config()
    assert config["max_concurrent_activities"] == 4
    assert config["max_concurrent_workflow_tasks"] == 7
    assert config["graceful_shutdown_timeout"] == timedelta(seconds=12.5)


def test_the_postgres_pool_is_sized_by_settings():
    engine = make_engine("postgresql+psycopg://u:p@127.0.0.1:1/x", pool_size=3, max_overflow=2)
    assert isinstance(engine.pool, QueuePool)
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 2)
    engine.dispose()


def _manifest_documents() -> list[dict]:
    import yaml

    documents = []
    for manifest in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    return documents


def _pod_specs(documents: list[dict]) -> list[dict]:
    return [d["spec"]["template"]["spec"] for d in documents if d["kind"] in ("Deployment", "Job")]


def test_every_config_map_a_pod_reads_is_defined_in_the_manifests():
    documents = _manifest_documents()
    defined = {d["metadata"]["name"] for d in documents if d["kind"] == "ConfigMap"}
    wanted = {
        source["configMapRef"]["name"]
        for spec in _pod_specs(documents)
        for container in spec["containers"]
        for source in container.get("envFrom", [])
        if "configMapRef" in source
    }
    assert wanted and wanted <= defined


def test_every_pod_runs_the_one_image_and_every_deployment_has_a_disruption_budget():
    documents = _manifest_documents()
    images = {
        container["image"] for spec in _pod_specs(documents) for container in spec["containers"]
    }
    assert len(images) == 1, images
    budgets = [
        d["spec"]["selector"]["matchLabels"]
        for d in documents
        if d["kind"] == "PodDisruptionBudget"
    ]
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        assert deployment["spec"]["selector"]["matchLabels"] in budgets, deployment["metadata"][
            "name"
        ]
