"""Kubernetes components per namespace and per API (architecture.md, layer 3)."""
