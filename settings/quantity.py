"""Kubernetes quantities (`500m`, `0.5Gi`) parsed by the Kubernetes Python client's own `parse_quantity`.

The function lives in `kubernetes/utils/quantity.py`, which needs only `decimal`; importing it the usual way
runs the package's `__init__`, which imports the whole API client (thousands of model classes: 0.3 s, measured
with `python -X importtime`, in every process that reads the settings). The module is loaded here from its
file alone, under a name of its own; the code that runs is the client's, unchanged.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path
from typing import Any


def _load_client_module() -> Any:
    package = importlib.util.find_spec("kubernetes")  # locates the package without importing it
    assert package is not None and package.submodule_search_locations, "the kubernetes package is missing"
    path = Path(next(iter(package.submodule_search_locations))) / "utils" / "quantity.py"
    spec = importlib.util.spec_from_file_location("_picturesocial_kubernetes_quantity", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_client = _load_client_module()


def parse_quantity(quantity: Any) -> Decimal:
    """`kubernetes.utils.quantity.parse_quantity`: a Decimal, ValueError for what Kubernetes refuses."""
    return _client.parse_quantity(quantity)
