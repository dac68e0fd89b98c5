"""deploy/jupyterhub/: the Zero to JupyterHub values validate against the chart's published values
schema at the pinned version (vendored in deploy/jupyterhub/schema/), and the single-user image
installs the project's one list of requirements."""

from __future__ import annotations

import copy
import hashlib
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "jupyterhub"
SCHEMA = DEPLOY / "schema"
CHART_VERSION = "4.4.0"
CHART_JUPYTERHUB = "5.5.0"


def helm_merge(defaults: Any, values: Any) -> Any:
    """Helm's coalescing of a values file over the chart's defaults: maps merge key by key, anything
    else replaces, and null removes the default (https://helm.sh/docs/chart_template_guide/values_files/)."""
    if not (isinstance(defaults, dict) and isinstance(values, dict)):
        return copy.deepcopy(values)
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = helm_merge(defaults.get(key), value)
    return merged


def load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def schema() -> dict[str, Any]:
    return yaml.safe_load((SCHEMA / "values.schema.json").read_text())


def errors(values: dict[str, Any]) -> list[str]:
    merged = helm_merge(yaml.safe_load((SCHEMA / "chart-values.yaml").read_text()), values)
    validator = jsonschema.Draft7Validator(schema())
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged))


def test_values_validate_against_the_charts_schema():
    assert errors(load("values.yaml")) == []


@pytest.mark.parametrize(("path", "value", "complaint"), [
    (("cull", "timeout"), "one hour", "is not of type 'integer'"),
    (("singleuser", "storage", "type"), "nfs", "is not one of"),
    (("singleuser", "imagePullPolicy"), "Always", "Additional properties are not allowed"),
])
def test_the_schema_catches_a_wrong_value(path, value, complaint):
    """The validation bites: one wrong setting in our values is reported with its path."""
    values = load("values.yaml")
    node = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    found = errors(values)
    assert found and any(complaint in e for e in found), found


def test_the_vendored_schema_is_the_one_its_source_names():
    source = (SCHEMA / "SOURCE.md").read_text()
    assert f"version {CHART_VERSION}" in source and f"tag `{CHART_VERSION}`" in source
    assert f"JupyterHub {CHART_JUPYTERHUB}" in source
    assert f"CHART_VERSION={CHART_VERSION}" in (DEPLOY / "README.md").read_text()
    digest = hashlib.sha256((SCHEMA / "values.schema.json").read_bytes()).hexdigest()
    assert digest == "c815204e8c02fd3b16a0bc549ddaa356224b9f04a95fd786a3c4a31fdcd04f0c", "schema changed: update SOURCE.md and this digest"
    assert set(schema()["properties"]) >= {"hub", "singleuser", "cull", "proxy"}


def test_the_image_installs_the_projects_requirements_and_nothing_else():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\n]+)", dockerfile)
    assert len(installs) == 1, installs
    args = re.findall(r'"([^"]+)"|(\S+)', installs[0])
    packages = [a or b for a, b in args if not (a or b).startswith("-")]
    assert packages[0] == "/opt/netlab/course[workshop]", packages  # the hand-out: the project's pyproject
    assert "COPY dist/handout /opt/netlab/course" in dockerfile
    # the one addition pins jupyterhub to the chart's hub, inside the project's own range
    assert packages[1:] == ["jupyterhub==${JUPYTERHUB_VERSION}"]
    assert f"ARG JUPYTERHUB_VERSION={CHART_JUPYTERHUB}" in dockerfile
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["workshop"]
    hub = next(Requirement(r) for r in extra if Requirement(r).name == "jupyterhub")
    assert CHART_JUPYTERHUB in hub.specifier


def test_learners_and_the_exchange_are_wired_the_same_way_as_on_one_machine():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    values = load("values.yaml")
    assert "COPY workshop/learner /opt/netlab/learner" in dockerfile
    assert "JUPYTER_CONFIG_PATH=/opt/netlab/learner:/opt/netlab/config" in dockerfile
    exchange = re.search(r'c\.Exchange\.root = "([^"]+)"', (DEPLOY / "nbgrader_config.py").read_text()).group(1)
    mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert [m["mountPath"] for m in mounts] == [exchange]
    claim = values["singleuser"]["storage"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"]
    pvc = [d for d in yaml.safe_load_all((DEPLOY / "exchange.yaml").read_text()) if d["kind"] == "PersistentVolumeClaim"]
    assert pvc[0]["metadata"]["name"] == claim and pvc[0]["spec"]["accessModes"] == ["ReadWriteMany"]
    extra = values["hub"]["extraConfig"]["netlab-workshop"]
    compile(extra, "extraConfig", "exec")  # the hub would refuse to start on a syntax error
    assert "/opt/netlab/config" in extra and "spawner.user.admin" in extra
    assert values["cull"]["enabled"] is True
    assert values["singleuser"]["defaultUrl"].endswith("course/00-setup-and-the-lab.ipynb")
