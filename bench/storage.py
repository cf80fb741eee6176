"""Blob store throughput and memory, beside raw baselines measured in the same run.

Run: .venv/bin/python -m bench.storage
Starts its own moto S3 server on loopback in a separate process, so the server's CPU and
memory are not counted against the client.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.blobstore import CHUNK_SIZE, FileBlobStore, S3BlobStore  # noqa: E402

MB = 1024 * 1024
SIZES = (1 * MB, 50 * MB)
ROUNDS = {1 * MB: 20, 50 * MB: 3}


class Pattern(io.RawIOBase):
    """``total`` bytes produced on demand (no 50 MB buffer distorts the memory figure)."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.block = os.urandom(CHUNK_SIZE)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.remaining, len(self.block))
        buffer[:count] = self.block[:count]
        self.remaining -= count
        return count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    http = urllib3.PoolManager()
    for _ in range(100):
        try:
            http.request("GET", f"http://127.0.0.1:{port}/", retries=False)
            return process, f"127.0.0.1:{port}"
        except urllib3.exceptions.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def rate(size: int, seconds: float) -> float:
    return size / MB / seconds


def best_of(rounds: int, action: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def raw_file_put(directory: Path, size: int) -> None:
    # Same durability as the store: chunked write, fsync, rename, no hashing.
    path = directory / uuid.uuid4().hex
    temp = path.with_suffix(".part")
    source = Pattern(size)
    with temp.open("wb") as target:
        while chunk := source.read(CHUNK_SIZE):
            target.write(chunk)
        target.flush()
        os.fsync(target.fileno())
    os.replace(temp, path)


def drain(stream: io.RawIOBase | io.BufferedIOBase) -> None:
    with stream:
        while stream.read(CHUNK_SIZE):
            pass


def main() -> None:
    process, endpoint = start_moto()
    rows: list[tuple[str, int, str, float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as work:
            work_dir = Path(work)
            file_store = FileBlobStore(work_dir / "store")
            raw_dir = work_dir / "raw"
            raw_dir.mkdir()
            s3 = S3BlobStore.from_url(f"s3://bench:bench@{endpoint}/bench")
            s3.check()
            raw_client = s3.client
            for size in SIZES:
                rounds = ROUNDS[size]
                rows += bench_file(file_store, raw_dir, size, rounds)
                rows += bench_s3(s3, raw_client, size, rounds)
            memory = measure_memory(file_store, s3)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{'backend':<6} {'size':>6} {'op':<4} {'store MB/s':>11} {'raw MB/s':>9} {'ratio':>6}")
    for backend, size, op, store_rate, raw_rate in rows:
        print(f"{backend:<6} {size // MB:>4}MB {op:<4} {store_rate:>11.1f} {raw_rate:>9.1f} "
              f"{store_rate / raw_rate:>6.2f}")
    print()
    for backend, small, large in memory:
        print(f"peak memory of a put, {backend}: 1 MB -> {small / MB:.2f} MB, "
              f"50 MB -> {large / MB:.2f} MB")


def bench_file(store: FileBlobStore, raw_dir: Path, size: int,
               rounds: int) -> list[tuple[str, int, str, float, float]]:
    keys: list[str] = []
    store_put = best_of(rounds, lambda: keys.append(store.put(Pattern(size)).key))  # type: ignore[arg-type]
    raw_put = best_of(rounds, lambda: raw_file_put(raw_dir, size))
    raw_path = next(raw_dir.iterdir())
    store_get = best_of(rounds, lambda: drain(store.open(keys[0])))  # type: ignore[arg-type]
    raw_get = best_of(rounds, lambda: drain(raw_path.open("rb")))
    for path in raw_dir.iterdir():
        path.unlink()
    return [("file", size, "put", rate(size, store_put), rate(size, raw_put)),
            ("file", size, "get", rate(size, store_get), rate(size, raw_get))]


def bench_s3(store: S3BlobStore, client: object, size: int,
             rounds: int) -> list[tuple[str, int, str, float, float]]:
    from minio import Minio

    assert isinstance(client, Minio)
    keys: list[str] = []
    store_put = best_of(rounds, lambda: keys.append(store.put(Pattern(size)).key))  # type: ignore[arg-type]

    def raw_put() -> None:
        # The raw client with its defaults: unknown length, 5 MiB parts, no hashing.
        client.put_object(store.bucket, f"raw/{uuid.uuid4().hex}", Pattern(size),  # type: ignore[arg-type]
                          length=-1, part_size=5 * MB)

    raw_put_time = best_of(rounds, raw_put)
    client.put_object(store.bucket, "raw/get", Pattern(size), length=-1,  # type: ignore[arg-type]
                      part_size=5 * MB)
    store_get = best_of(rounds, lambda: drain(store.open(keys[0])))  # type: ignore[arg-type]

    def raw_get() -> None:
        response = client.get_object(store.bucket, "raw/get")
        try:
            for _ in response.stream(CHUNK_SIZE):
                pass
        finally:
            response.close()
            response.release_conn()

    raw_get_time = best_of(rounds, raw_get)
    return [("s3", size, "put", rate(size, store_put), rate(size, raw_put_time)),
            ("s3", size, "get", rate(size, store_get), rate(size, raw_get_time))]


def measure_memory(file_store: FileBlobStore,
                   s3: S3BlobStore) -> list[tuple[str, int, int]]:
    results = []
    for name, store in (("file", file_store), ("s3", s3)):
        peaks = []
        for size in (1 * MB, 50 * MB):
            source = Pattern(size)
            tracemalloc.start()
            store.put(source)  # type: ignore[arg-type]
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        results.append((name, peaks[0], peaks[1]))
    return results


if __name__ == "__main__":
    main()
