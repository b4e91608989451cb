"""A fresh clone of the working tree, as a new user has it, to run the product from.

The clone holds what ``git commit -a`` plus ``git add`` of every file that is not ignored would
hold now: the same files as a clone of main once this tree is committed (a tracked outbox comes
along, an ignored database does not), so that the story runs on uncommitted work too.

Installing is the one step left out: the clone's ``.venv`` is a real virtual environment whose
packages are the suite's own (a ``.pth`` file), with the console script ``pip install`` would
write. CI runs the README's install commands themselves (``.ci/run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path = ROOT, env: dict | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} : {done.stderr.strip()}")
    return done.stdout


def snapshot_tree() -> str:
    """The tree ``git add -A`` would commit now, written without touching the real index."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git("read-tree", "HEAD", env=env)
        _git("add", "-A", env=env)
        return _git("write-tree", env=env).strip()


def fresh_clone(dest: Path) -> Path:
    """``git clone`` of this repository into ``dest``, brought to the working tree's snapshot."""
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip(f"{ROOT} n'est pas un dépôt git : pas de clone à faire")
    tree = snapshot_tree()
    _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest))
    patch = subprocess.run(
        ["git", "diff", "--binary", "HEAD", tree], cwd=ROOT, capture_output=True, check=True
    ).stdout
    if patch:
        subprocess.run(
            ["git", "apply", "--index", "--whitespace=nowarn"], cwd=dest, input=patch, check=True
        )
    _shared_venv(dest)
    return dest


def _shared_venv(clone: Path) -> None:
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    # the clone's own code first, then the suite's installed packages
    shared = sysconfig.get_paths()["purelib"]
    (purelib / "clausier-clone.pth").write_text(f"{clone}\n{shared}\n", encoding="utf-8")
    script = venv / "bin" / "clausier"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\n"
        "import sys\nfrom clausier.cli.app import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)


def user_env(clone: Path) -> dict[str, str]:
    """The environment of a person in the clone: no CLAUSIER_* setting, the clone's venv first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUSIER_", "PYTHON"))}
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return env
