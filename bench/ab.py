"""Two versions of the app under gunicorn, taking turns on one database: which submits cheaper?

Run: .venv/bin/python -m bench.ab REV [--rounds 16] [--seconds 7] [--workers 3] [--concurrency 6]

``REV`` (a commit, a branch, ``HEAD``) is checked out into a temporary git worktree as side A;
side B is this working tree, with whatever is changed in it. Both serve the real app
(``amtsweg.wsgi:app``) from their own gunicorn on 127.0.0.1, against the same PostgreSQL
database (``amtsweg_bench_ab``, migrated by B and dropped at the end) and the same file storage.
Each side has its own signed-in citizens and prepared drafts, exactly as in ``bench/submit.py``,
and citizens submit — the documents POST with two 1 MB PDFs and the submit POST — in rounds
that alternate A, B, B, A, … so the drift of this shared machine falls on both.

Printed for each side: submissions per second, the CPU per submission of its workers, of
PostgreSQL and of the bench's clients, and the workers' CPU in every round; then B − A and in
how many rounds B's workers spent less. This is how a change to the app is measured under the
server it runs on: one run of ``bench/submit.py`` varies by ±0.04 in its ratio, more than most
single changes move it, while paired rounds show about 1 ms per submission (less well in a
busy hour of the host: compare the rounds). A change measured only in-process or in a
stripped-down app can point the wrong way (bench/README.md, "twelfth session").
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import submit as bench

ROOT = bench.ROOT
DATABASE = "amtsweg_bench_ab"
SIDES = ("A", "B")


@dataclass
class Side:
    server: bench.Server
    citizens: list[bench.Citizen]
    drafts: list[list[str]]
    tokens: list[str]
    form: bench.DocumentsForm
    total: bench.Load = field(default_factory=bench.Load)
    rounds: list[float] = field(default_factory=list)  # the workers' ms per submission


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """``revision`` checked out beside this one, sharing its virtualenv and compiled messages."""
    path = Path(tempfile.mkdtemp(prefix="amtsweg-ab-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), revision],
                   cwd=ROOT, check=True)
    try:
        (path / ".venv").symlink_to(ROOT / ".venv")
        for compiled in ROOT.glob("translations/*/LC_MESSAGES/*.mo"):
            shutil.copy2(compiled, path / compiled.relative_to(ROOT))
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                       check=False)
        shutil.rmtree(path.parent, ignore_errors=True)


def start_app(name: str, root: Path, env: dict[str, str], workers: int,
              log_dir: Path) -> bench.Server:
    return bench.start_gunicorn(name, "amtsweg.wsgi:app", env, workers, log_dir,
                                "/konto/anmelden", root=root)


def prepare_side(server: bench.Server, url: str, emails: list[str], first_address: int,
                 drafts_each: int, pdfs: list[Path]) -> Side:
    """Sign the citizens in, warm every page up, and give each its prepared drafts."""
    citizens = bench.signed_in_citizens(server.url, emails, first_address)
    citizens[0].apply(pdfs)  # every page once in some worker
    form, drafts, tokens = bench.prepare_submissions(citizens, url, drafts_each, len(pdfs))
    return Side(server, citizens, drafts, tokens, form)


def play_round(side: Side, concurrency: int, seconds: float, pdfs: list[Path]) -> None:
    load = bench.with_cpu(side.server, lambda: bench.app_load(
        side.citizens, side.drafts, side.tokens, side.form, concurrency, seconds, pdfs))
    side.total.add(load)
    side.rounds.append(load.cpu_ms_each)


def report(sides: dict[str, Side], revision: str) -> None:
    print(f"\nbench/ab.py: A = {revision}, B = this working tree; "
          f"{len(sides['A'].rounds)} rounds each, alternating\n")
    print(f"{'':3} {'done':>6} {'per s':>7} {'workers':>8} {'postgres':>9} {'clients':>8} "
          f"{'errors':>6}   (CPU ms per submission)")
    for name in SIDES:
        load = sides[name].total
        workers, database, clients = load.machine_ms_each()
        print(f"{name:3} {load.done:6d} {load.rate:7.2f} {workers:8.1f} {database:9.1f} "
              f"{clients:8.1f} {len(load.errors):6d}")
    for name in SIDES:
        print(f"{name} workers per round: "
              + " ".join(f"{value:.1f}" for value in sides[name].rounds))
    a, b = sides["A"], sides["B"]
    lower = sum(1 for mine, theirs in zip(b.rounds, a.rounds, strict=True) if mine < theirs)
    difference = b.total.cpu_ms_each - a.total.cpu_ms_each
    print(f"\nB - A: workers {difference:+.1f} ms per submission "
          f"({difference / a.total.cpu_ms_each * 100 if a.total.cpu_ms_each else 0:+.1f} %), "
          f"{b.total.rate - a.total.rate:+.2f} submissions/s; "
          f"B's workers spent less in {lower} of {len(b.rounds)} rounds")
    for name in SIDES:
        for error in sides[name].total.errors[:3]:
            print(f"  {name} error: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="side A: a commit, branch or tag of this repository")
    parser.add_argument("--rounds", type=int, default=16, help="rounds per side")
    parser.add_argument("--seconds", type=float, default=7.0, help="per round and side")
    parser.add_argument("--workers", type=int, default=3, choices=range(2, 5))
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    if args.rounds < 2 or args.seconds <= 0:
        parser.error("--rounds must be at least 2 and --seconds more than 0")
    # Enough prepared drafts for every round at well above this machine's best rate.
    drafts_each = int(args.rounds * args.seconds * 60 / args.concurrency) + 50

    with bench.scratch("amtsweg-bench-ab-", ("instance", "documents", "pdf", "logs")) as (
            tmp, servers):
        with worktree(args.revision) as tree_a, bench.bench_database(DATABASE) as url:
            env = bench.app_env(url, tmp)
            bench.migrate(env)
            emails = bench.create_citizens(env, 2 * args.concurrency)
            pdfs = [bench.write_pdf(tmp / "pdf" / f"{name}.pdf", bench.MB)
                    for name in ("geburtsurkunde", "scheidungsurteil")]
            sides: dict[str, Side] = {}
            for number, (name, root) in enumerate((("A", tree_a), ("B", ROOT))):
                server = start_app(name, root, env, args.workers, tmp / "logs")
                servers.append(server)
                own = emails[number * args.concurrency:(number + 1) * args.concurrency]
                sides[name] = prepare_side(server, url, own, number * args.concurrency,
                                           drafts_each, pdfs)
            for number in range(args.rounds):
                for name in SIDES if number % 2 == 0 else reversed(SIDES):
                    play_round(sides[name], args.concurrency, args.seconds, pdfs)
            report(sides, args.revision)
            failed = any(side.total.errors for side in sides.values())
        return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
