"""`make bench` synthesizes generated catalogs of 2, 25 and 100 APIs: they must be catalogs the settings layer
accepts, or the bench stops at its first line (as it did when public paths came: every copy claimed one)."""

from __future__ import annotations

import pytest

from settings import load
from tools.bench import generated_project
from tools.offline.stack_config import load_stack_config

pytestmark = pytest.mark.live  # copies of the live catalog's first API, with dev's settings


@pytest.mark.parametrize("per_api", [1, 3])
def test_the_generated_catalog_of_100_apis_passes_the_settings_layer(tmp_path, per_api):
    project_dir = generated_project(100, tmp_path, per_api)
    project, config, _ = load_stack_config(project_dir, "dev")
    apis = load(config, project=project, stack="dev", project_dir=project_dir).apis
    assert len(apis) == 100
    paths = [path for api in apis.values() if api.spec.public for path in api.spec.public.paths]
    assert len(paths) == len(set(paths)) > 2
    public = apis["api-000"].spec.public
    assert public is not None and len(public.paths) == per_api
