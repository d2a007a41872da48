"""Kubernetes quantities (`500m`, `0.5Gi`) parsed by the Kubernetes Python client's own `parse_quantity`.

The function lives in `kubernetes/utils/quantity.py`, which needs only `decimal`; importing it the usual way
runs the package's `__init__`, which imports the whole API client (thousands of model classes: 0.3 s, measured
with `python -X importtime`, in every process that reads the settings). The module is loaded here from its
file alone, under a name of its own; the code that runs is the client's, unchanged.
"""

from __future__ import annotations

import importlib.util
import re
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


# The quantity grammar of the Kubernetes API (apimachinery resource.Quantity; Kubernetes docs, "Quantity"):
# a number with an optional binary-SI, decimal-SI or exponent suffix. The client's parser hands the number to
# Python's Decimal, which also reads `inf`, `NaN` and `1_0`, none of which the API server accepts: the text is
# held to the grammar first. No sign either: every quantity here is an amount of a resource (requests, limits,
# a pool's limits), which Kubernetes requires to be zero or more.
_GRAMMAR = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?")


def parse_quantity(quantity: Any) -> Decimal:
    """`kubernetes.utils.quantity.parse_quantity` of what the API server's grammar accepts: a Decimal;
    ValueError for anything else."""
    if not _GRAMMAR.fullmatch(str(quantity)):
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity")
    return _client.parse_quantity(quantity)
