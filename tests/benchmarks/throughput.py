"""Requests per second of one ``clausier serve`` over loopback, under ``wrk`` at 16 connections.

A real server in a subprocess: on SQLite ``clausier serve --demo`` (the example, its tokens
printed), on PostgreSQL ``clausier serve --no-scheduler`` on a fresh schema loaded with the
example (``CLAUSIER_DATABASE_URL``). ``wrk`` (Debian package ``wrk``) drives it, the buyer's
token in a Lua script. Interleaved, ``repeats`` times: ``GET /api/health`` (the raw baseline: the
same server, no store, no caller) and the buyer's status lookup of each of its markets,
``GET /api/markets/{ref}``. Reported: the median requests/s and the median of the runs' p50 and
p99, and the ratio lookup/health (goal ≥ 0.3, p99 ≤ 100 ms).

``cpu``: the same two requests without HTTP nor wrk, through the ASGI application in this
process, in CPU time per request (thread hops included, as a server pays them): steadier than
requests per second on shared cores, it tells what a change to the lookup itself gained.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.cli.serve import DEMO_ORGS, EXAMPLE
from clausier.config import Settings
from clausier.db.engine import make_engine, session_scope
from clausier.db.migrate import upgrade
from clausier.loading.loader import load
from tests.smtp import free_port
from tests.stores import PostgresSchema

CONNECTIONS = 16
BUYER = DEMO_ORGS[Role.buyer]
_TOKEN = re.compile(r"jeton .*(clz_\S+)")


@contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """The server, its output read by a thread (lines kept, so that a pipe never fills)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "clausier", *args], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        yield process, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, lines: list[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server stopped:\n" + "".join(lines))
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer in 60 s:\n" + "".join(lines))


@contextmanager
def serving(kind: str) -> Iterator[tuple[str, str]]:
    """(the server's address, the buyer's token)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ}
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="clausier-bench-") as home:
            env["TMPDIR"] = home  # the demo's database goes there, removed afterwards
            with _process(["serve", "--demo", "--port", str(port)], env) as (process, lines):
                _wait_until_up(url, process, lines)
                buyer = next(m.group(1) for line in lines if BUYER in line
                             and (m := _TOKEN.search(line)))  # fmt: skip
                yield url, buyer
        return
    schema = PostgresSchema()
    try:
        settings = Settings()
        with session_scope(schema.engine) as session:
            load(session, EXAMPLE, today=clock.today(), settings=settings)
            buyer = tokens.create(session, role=Role.buyer, org=BUYER, expires_at=None,
                                  now=clock.now())[0]  # fmt: skip
        env["CLAUSIER_DATABASE_URL"] = schema.url
        args = ["serve", "--no-scheduler", "--port", str(port)]
        with _process(args, env) as (process, lines):
            _wait_until_up(url, process, lines)
            yield url, buyer
    finally:
        schema.drop()


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, path: str, token: str | None, *, seconds: int) -> dict:
    """One wrk run: requests/s, p50 and p99 in ms; a non-2xx answer fails the run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if token:
            script.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        script.write(
            "function response(status, headers, body)\n"
            '  if status ~= 200 then io.write("status " .. status .. "\\n") end\nend\n'
        )
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script.name,
             url + path],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    if "status " in out or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk {path}: failed requests\n{out}")
    latency = {q: float(v) * _UNIT[unit] for q, v, unit in _LATENCY.findall(out)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"per_second": rate, "p50_ms": latency["50"], "p99_ms": latency["99"]}


def _median(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def run(kind: str, *, repeats: int = 3, seconds: int = 5) -> dict[str, dict]:
    if shutil.which("wrk") is None:
        print(f"\n[{kind}] throughput: SKIPPED, wrk is not installed (apt-get install wrk)")
        return {}
    with serving(kind) as (url, buyer):
        headers = {"Authorization": f"Bearer {buyer}"}
        listed = httpx.get(f"{url}/api/markets", headers=headers, params={"limit": 200}).json()
        refs = [item["ref"] for item in listed["items"]]
        paths = {"GET /api/health": ("/api/health", None)}
        paths |= {f"GET /api/markets/{ref}": (f"/api/markets/{ref}", buyer) for ref in refs}
        for path, token in paths.values():  # warm-up: each once, its document checked
            assert httpx.get(url + path, headers=headers if token else {}).status_code == 200
            wrk(url, path, token, seconds=1)
        runs: dict[str, list[dict]] = {name: [] for name in paths}
        for _ in range(repeats):
            for name, (path, token) in paths.items():
                runs[name].append(wrk(url, path, token, seconds=seconds))
    rows = {name: _median(values) for name, values in runs.items()}
    health = rows["GET /api/health"]["per_second"]
    print(f"\n[{kind}] one `clausier serve`, wrk -c{CONNECTIONS}, {repeats}×{seconds} s each, "
          f"medians; buyer {BUYER!r}, {len(refs)} markets")  # fmt: skip
    for name, row in rows.items():
        print(f"  {name:<34} {row['per_second']:8.0f}/s  p50 {row['p50_ms']:7.2f} ms  "
              f"p99 {row['p99_ms']:7.2f} ms  ratio {row['per_second'] / health:.2f}× health")  # fmt: skip
    lookups = [row for name, row in rows.items() if name != "GET /api/health"]
    worst = min(row["per_second"] for row in lookups)
    print(f"  status lookups: median {statistics.median(r['per_second'] for r in lookups):.0f}/s, "
          f"slowest {worst:.0f}/s ({worst / health:.2f}× health, goal ≥ 0.30), worst p99 "
          f"{max(r['p99_ms'] for r in lookups):.1f} ms (goal ≤ 100 ms)")  # fmt: skip
    return rows


@contextmanager
def _loaded_store(kind: str) -> Iterator[tuple[Settings, object]]:
    """The example loaded in a fresh store: (settings, engine)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="clausier-bench-") as home:
            settings = Settings(database={"url": f"sqlite:///{home}/cpu.db"})
            engine = make_engine(settings)
            upgrade(engine)
            yield settings, engine
            engine.dispose()
        return
    schema = PostgresSchema()
    try:
        yield Settings(database={"url": schema.url}), schema.engine
    finally:
        schema.drop()


async def _asgi_get(app, path: str, token: str | None) -> int:
    headers = [(b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    status = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


def cpu(kind: str, *, requests: int = 100, repeats: int = 7) -> dict[str, float]:
    """CPU milliseconds per request, the minimum of ``repeats`` runs of ``requests`` each."""
    with _loaded_store(kind) as (settings, engine):
        with session_scope(engine) as session:
            load(session, EXAMPLE, today=clock.today(), settings=settings)
            buyer = tokens.create(session, role=Role.buyer, org=BUYER, expires_at=None,
                                  now=clock.now())[0]  # fmt: skip
        app = create_app(engine, settings)
        paths = {"GET /api/health": ("/api/health", None)}

        async def measure() -> dict[str, float]:
            listed = await _refs(app, buyer)
            paths.update({f"GET /api/markets/{ref}": (f"/api/markets/{ref}", buyer)
                          for ref in listed})  # fmt: skip
            figures = {}
            for name, (path, token) in paths.items():
                assert await _asgi_get(app, path, token) == 200, name  # warm-up, checked
                runs = []
                for _ in range(repeats):
                    started = time.process_time()
                    for _ in range(requests):
                        await _asgi_get(app, path, token)
                    runs.append((time.process_time() - started) * 1000 / requests)
                figures[name] = min(runs)
            return figures

        figures = asyncio.run(measure())
    health = figures["GET /api/health"]
    print(f"\n[{kind}] CPU per request through the ASGI app, in process, min of {repeats}×"
          f"{requests}")  # fmt: skip
    for name, ms in figures.items():
        print(f"  {name:<34} {ms:7.3f} ms  ratio {health / ms:.2f}× health")
    lookups = [ms for name, ms in figures.items() if name != "GET /api/health"]
    print(f"  status lookups: median {statistics.median(lookups):.3f} ms, slowest "
          f"{max(lookups):.3f} ms ({health / max(lookups):.2f}× health, goal ≥ 0.30)")  # fmt: skip
    return figures


async def _refs(app, token: str) -> list[str]:
    """The buyer's markets, as the list endpoint gives them."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        listed = await client.get("/api/markets", params={"limit": 200},
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return [item["ref"] for item in listed.json()["items"]]
