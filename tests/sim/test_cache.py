"""The on-disk cache of compiled kernels survives a process killed while writing to it."""

from __future__ import annotations

from pathlib import Path

from jax._src.lru_cache import LRUCache

from ecoflow.sim.run import repair_cache


def test_a_kernel_without_its_access_time_is_repaired(tmp_path: Path) -> None:
    cache = LRUCache(str(tmp_path), max_size=1 << 20)
    cache.put("a", b"kernel a")
    (tmp_path / "a-atime").unlink()  # killed between the kernel and its access time
    assert repair_cache(tmp_path) == 1
    assert (tmp_path / "a-atime").read_bytes() == bytes(8)  # the oldest: evicted first
    cache.put("b", b"kernel b")  # the eviction scan reads every access time
    assert cache.get("b") == b"kernel b" and cache.get("a") == b"kernel a"
    assert repair_cache(tmp_path) == 0
