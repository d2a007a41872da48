"""The offline engine: runs ``__main__.py`` for one stack under the Pulumi mock engine.

Only the cloud's answers are faked (ids, ARNs, URLs, invokes); the program, its settings and its
components are exactly what ``pulumi up`` runs.
"""

from tools.offline import manifests
from tools.offline.engine import Graph, SynthError, synthesize

__all__ = ["Graph", "SynthError", "manifests", "synthesize"]
