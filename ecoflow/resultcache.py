"""A store of simulated layer phases on disk, so that an interrupted simulation job resumes.

A job of the workflow simulates every layer of a network in every phase, one after another,
for minutes to hours; killed or interrupted, it writes no output (:mod:`ecoflow.io`). With a
store, each layer phase's :class:`~ecoflow.evaluate.LayerResult` is kept as soon as it is
simulated, and the job run again takes those it finds instead of simulating them again.

An entry is found only by the digest of everything the result depends on: the problem (the
layer's shape without its name, and the phase), the dataflow, the parsed hardware and energy
table, the source of this package and the versions of Python, JAX and NumPy. A changed line of
code or of a hardware file therefore misses, never returns a stale result: any edit of the
package's code, even one that changes no result, makes a job start over (an edit of docstrings
or comments alone does not). Results are the same with or without the store, byte for byte
(``tests/test_resultcache.py``); delete the folder to start cold. Entries are written through
a temporary file and a rename (:func:`ecoflow.io.atomic_write_text`), so a job killed while
writing one leaves none; an entry that cannot be read is a miss.

The workflow sets :data:`ENV` to ``.cache/results`` (``workflow/rules/common.smk``), beside
JAX's cache of compiled kernels.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import jax
import numpy as np

from ecoflow.config import EnergyTable, HardwareConfig
from ecoflow.evaluate import LayerResult
from ecoflow.io import atomic_write_text
from ecoflow.workloads.layer import Problem

ENV = "ECOFLOW_RESULT_CACHE"  # environment variable naming the store's folder
SOURCE_SUFFIXES = (".py", ".yaml", ".json", ".csv")  # the package files a digest covers

log = logging.getLogger(__name__)


@functools.cache
def code_digest() -> str:
    """:func:`source_digest` of this package, with the Python, JAX and NumPy versions."""
    versions = f"python {sys.version_info[:3]} jax {jax.__version__} numpy {np.__version__}"
    text = f"{versions}\n{source_digest(Path(__file__).parent)}"
    return hashlib.sha256(text.encode()).hexdigest()


def source_digest(root: Path) -> str:
    """sha256 of the source and data files under ``root``.

    A Python file counts by its syntax tree without docstrings (comments are not in it), so an
    edit of documentation alone keeps every stored result; any other change misses.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES):
        data = path.read_bytes()
        if path.suffix == ".py":
            data = ast.dump(_without_docstrings(ast.parse(data, str(path)))).encode()
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def _without_docstrings(tree: ast.Module) -> ast.Module:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(node, nodes) and body else None
        doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        if doc and isinstance(first.value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return tree


class ResultCache:
    """Layer-phase results in ``root``, one JSON file per digest."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_env(cls) -> ResultCache | None:
        """The store :data:`ENV` names, or ``None`` where it is unset or empty."""
        root = os.environ.get(ENV, "")
        return cls(root) if root else None

    @staticmethod
    def key(problem: Problem, dataflow: str, hw: HardwareConfig, table: EnergyTable) -> str:
        """The digest of everything a layer phase's result depends on."""
        problem = dataclasses.replace(problem, layer=problem.layer.replace(name=""))
        parts = (code_digest(), repr(problem), dataflow, hw.model_dump_json(),
                 table.model_dump_json())  # fmt: skip
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def path(self, key: str) -> Path:
        """The file of a digest."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> LayerResult | None:
        """The stored result, or ``None`` (absent, or unreadable: logged)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return LayerResult(**json.loads(path.read_text())["result"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("%s: unreadable cached result, simulating again (%s)", path, err)
            return None

    def put(self, key: str, result: LayerResult, about: str = "") -> Path:
        """Store a result (``about``: a readable note of what it is, kept beside it)."""
        text = json.dumps({"about": about, "result": result.to_dict()})  # JSON-ready, as the CLI
        return atomic_write_text(self.path(key), text + "\n")
