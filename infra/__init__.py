"""AWS components: each takes typed settings and returns typed outputs (architecture.md, layer 2)."""
