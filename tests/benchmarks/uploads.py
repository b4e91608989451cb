"""The peak memory of a real ``clausier serve`` for the largest uploads its limits accept, and
for bodies over them.

A fresh store holding one market in execution, its lot held by a contractor, and 2,500 people
registered by the structure following it; for each case a ``clausier serve --no-scheduler``
subprocess of its own with the default ``limits`` (a heap an earlier case grew would hide the
next one's peak), warmed by a first request of each kind. Its resident memory is read before
the case (``VmRSS`` in ``/proc/PID/status``, after ``5`` written to ``/proc/PID/clear_refs``
resets the peak) and its peak after (``VmHWM``). The goal: peak − resident before ≤ 2 × the
upload's size + 100 MB.

- *CSV accepted*: the largest file of hours the limits let through, every line right:
  ``limits.statement_lines`` lines (months of the 2,500 people), declared in one request.
- *CSV at its limit*: ``limits.statement_csv_bytes`` of lines, read to the end as a stream
  and refused for their number.
- *load*: a JSON load of ``limits.load_bytes`` (markets of the buyer, one lot each), accepted;
  other sizes with ``run(kind, load_sizes=…)``.
- *4 × 100 MB anonymous*: four bodies of 100 MB announced at once, as in issue 15: refused.
- *100 MB chunked CSV*: a contractor's CSV sent without ``Content-Length``: stopped at the limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import httpx

from clausier import clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import LimitSettings
from clausier.markets.models import Lot
from tests import factories as make
from tests.benchmarks.stores import fresh_store

PEOPLE = 2_500
MB = 1_000_000


def _months(starts: date, count: int) -> list[str]:
    months, year, month = [], starts.year, starts.month
    for _ in range(count):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _fill(store) -> dict:
    with store.session() as session:
        buyer = make.buyer(session, "Acheteur du banc d'essai")
        structure = make.structure(session, "mde-banc")
        make.convention(session, buyer=buyer, structure=structure, covering=(make.COTENTIN_EPCI,))
        holder = make.contractor(session, "Titulaire du banc d'essai")
        market = make.market(
            session, buyer=buyer, state="execution", awarded_to=holder, lots=1,
            execution_starts_on=date(2025, 1, 1), execution_ends_on=date(2027, 12, 31),
        )  # fmt: skip
        lot = session.query(Lot).filter(Lot.market_id == market.id).one()
        codes = [make.beneficiary(session, structure).code for _ in range(PEOPLE)]
        issued = {
            role: tokens.create(session, role=role, org=org, expires_at=None, now=clock.now())[0]
            for role, org in ((Role.admin, None), (Role.contractor, holder.siret))
        }
        session.commit()
        return {"lot": lot.id, "codes": codes, "tokens": issued, "buyer": buyer.siret}


def accepted_csv(codes: list[str], limit: int, max_lines: int) -> tuple[bytes, int]:
    """The largest file the limits accept, every line right: ``max_lines`` lines (if ``limit``
    holds them), a month of each person after another, each line with its contract type."""
    rows, size = [b"beneficiaire;modalite;heures;type_contrat;mois\n"], 0
    size = len(rows[0])
    for month in _months(date(2025, 1, 1), 36):
        for code in codes:
            row = f"{code};direct_hire;35,5;cdi;{month}\n".encode()
            if len(rows) > max_lines or size + len(row) > limit:
                return b"".join(rows), len(rows) - 1
            rows.append(row)
            size += len(row)
    return b"".join(rows), len(rows) - 1


def wrong_csv(limit: int) -> tuple[bytes, int]:
    rows, size, n = [b"beneficiaire;modalite;heures;mois\n"], 0, 0
    size = len(rows[0])
    while True:
        row = f"B-NOBODY{n:06d};direct_hire;1;2026-{n % 10 + 1:02d}\n".encode()
        if size + len(row) > limit:
            return b"".join(rows), n
        rows.append(row)
        size, n = size + len(row), n + 1


def load_body(buyer: str, limit: int) -> tuple[bytes, int]:
    """Markets of the buyer, one lot each, as many as ``limit`` holds."""
    head, tail, parts, size, n = b'{"markets": [', b"]}", [], 0, 0
    size = len(head) + len(tail)
    while True:
        market = {
            "ref": f"MKT-B{limit // 1000}-{n:06d}", "buyer": buyer,
            "title": f"Travaux du banc d'essai {n}",
            "commune": make.CHERBOURG, "cpv": "45454000", "amount": 1_000_000,
            "consultation_on": "2027-03-01", "execution_starts_on": "2027-06-01",
            "execution_ends_on": "2028-05-31",
            "lots": [{"number": 1, "title": "Gros œuvre", "amount": 1_000_000}],
        }  # fmt: skip
        text = (b"," if parts else b"") + json.dumps(market, ensure_ascii=False).encode()
        if size + len(text) > limit:
            return head + b"".join(parts) + tail, n
        parts.append(text)
        size, n = size + len(text), n + 1


class Server:
    """``clausier serve`` on a free port, its memory read from /proc."""

    def __init__(self, directory: Path, database_url: str) -> None:
        env = {**os.environ, "CLAUSIER_DATABASE_URL": database_url}
        env.pop("CLAUSIER_CONFIG", None)  # the defaults: no config.yaml in the directory
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clausier", "serve", "--no-scheduler", "--port", "0"],
            cwd=directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for line in self.process.stderr:
            if "écoute sur" in line:
                self.url = line.split("écoute sur ")[1].split("/ ")[0]
                break
        else:
            raise RuntimeError("clausier serve ne démarre pas")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def memory(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _measure(server: Server, name: str, size: int, send) -> dict:
    server.reset_peak()
    before = server.memory("VmRSS")
    start = time.perf_counter()
    outcome = send()
    seconds = time.perf_counter() - start
    peak = server.memory("VmHWM")
    growth, bound = peak - before, 2 * size + 100 * MB
    row = {"name": name, "size": size, "outcome": outcome, "seconds": seconds, "before": before,
           "peak": peak, "growth": growth, "bound": bound}  # fmt: skip
    verdict = "met" if growth <= bound else "NOT MET"
    print(f"  {name:<32} {size / MB:7.1f} MB  {outcome:<24} {seconds:7.1f} s  "
          f"RSS before {before / MB:6.1f} MB  peak {peak / MB:6.1f} MB  "
          f"growth {growth / MB:6.1f} MB ({growth / max(size, 1):4.1f}× the upload)  "
          f"goal ≤ {bound / MB:.0f} MB: {verdict}")  # fmt: skip
    return row


def _anonymous_hundreds(url: str) -> str:
    """Four anonymous 100 MB bodies at once, each streamed as fast as the server takes it."""
    answers: list[int] = []

    def post() -> None:
        def body():
            block = b" " * (1 << 20)
            for _ in range(100):
                yield block

        headers = {"Content-Type": "application/json", "Content-Length": str(100 * (1 << 20))}
        try:
            answers.append(httpx.post(f"{url}/api/markets", content=body(), headers=headers,
                                      timeout=120).status_code)  # fmt: skip
        except httpx.HTTPError:  # the server closed the connection on its 413
            answers.append(413)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return "/".join(map(str, sorted(answers)))


def _chunked(url: str, path: str, token: str) -> str:
    def body():
        block = b"B-NOBODY0000;direct_hire;1;2026-01\n" * 30_000  # about 1 MB
        for _ in range(100):
            yield block

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    try:
        return str(
            httpx.post(f"{url}{path}", content=body(), headers=headers, timeout=120).status_code
        )
    except httpx.HTTPError:
        return "413 (connexion fermée)"


def run(kind: str, load_sizes: tuple[int, ...] = ()) -> None:
    """Each case on a server of its own, so that one case's peak is not hidden by the memory
    an earlier one left in the process's heap."""
    limits = LimitSettings()
    print(f"\nuploads ({kind}): clausier serve, default limits {limits.model_dump()}")
    with fresh_store(kind) as store, tempfile.TemporaryDirectory(prefix="clausier-up-") as folder:
        data = _fill(store)
        contractor = {"Authorization": f"Bearer {data['tokens'][Role.contractor]}",
                      "Content-Type": "text/csv"}  # fmt: skip
        admin = {"Authorization": f"Bearer {data['tokens'][Role.admin]}",
                 "Content-Type": "application/json"}  # fmt: skip
        csv_path = f"/api/lots/{data['lot']}/declarations.csv"

        def case(name: str, size: int, send) -> None:
            server = Server(Path(folder), store.url)
            try:  # a first request of each kind, then the case
                warm = f"beneficiaire;modalite;heures;mois\n{data['codes'][0]};training;1;2027-12\n"
                httpx.post(f"{server.url}{csv_path}", content=warm.encode(), headers=contractor)
                httpx.post(f"{server.url}/api/load", content=b'{"markets": []}', headers=admin)
                _measure(server, name, size, lambda: send(server.url))
            finally:
                server.stop()

        def post(path: str, content: bytes, headers: dict):
            def send(url: str) -> str:
                answer = httpx.post(f"{url}{path}", content=content, headers=headers, timeout=None)
                document = answer.json()
                if answer.status_code == 200:
                    return f"200, {sum(m['added'] for m in document['months']):,} lines"
                if answer.status_code == 201:
                    return f"201, {sum(document['counts']['markets'].values()):,} markets"
                return f"{answer.status_code}, {document['error'].get('total')} problem(s)"

            return send

        body, lines = accepted_csv(data["codes"], limits.statement_csv_bytes,
                                   limits.statement_lines)  # fmt: skip
        case(f"CSV accepted ({lines:,} lines)", len(body), post(csv_path, body, contractor))
        wrong, count = wrong_csv(limits.statement_csv_bytes)
        case(f"CSV at its limit, {count:,} lines", len(wrong), post(csv_path, wrong, contractor))
        for size in load_sizes or (limits.load_bytes,):
            load, markets = load_body(data["buyer"], size)
            case(f"load ({markets:,} markets)", len(load), post("/api/load", load, admin))
        # what the server reads of these at most: their limits
        case("4 × 100 MB anonymous", limits.body_bytes, _anonymous_hundreds)
        case("100 MB chunked CSV", limits.statement_csv_bytes,
             lambda url: _chunked(url, csv_path, data["tokens"][Role.contractor]))  # fmt: skip
