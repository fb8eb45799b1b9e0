"""Podman for deploy/check_container.py: find or install it, configure it for this machine,
build the Debian base image (once: it is reused from podman's store) and the fwbot image.

No Docker Hub here, so the base is made from Debian packages: ``debootstrap --variant=minbase
bookworm`` plus Python 3.11 (python3, python3-venv, python-is-python3, ca-certificates),
trimmed of documentation and apt's lists, and ``podman import``-ed. It stands in for
``python:3.11-slim`` through the Dockerfile's ``PYTHON_IMAGE`` argument; the Dockerfile is the
one a Docker build uses.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "localhost/fwbot:check"
BUILDER = "localhost/fwbot-builder:check"  # the Dockerfile's builder stage, kept for its cache
TOOLS = ("podman", "buildah", "runc", "debootstrap")
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# What a container never reads: documentation, manuals, translations, apt's package lists
# and downloaded .debs (the image installs nothing with apt), glibc's iconv modules (Python
# has its own codecs).
BASE_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf/templates.dat-old",
    "var/log",
    "usr/lib/x86_64-linux-gnu/gconv",
)
# The tag names the recipe, so that a changed recipe makes a new base instead of reusing
# the old one from podman's store.
_RECIPE = hashlib.sha256(repr((BASE_PACKAGES, BASE_TRIM)).encode()).hexdigest()[:8]
BASE_IMAGE = f"localhost/fwbot-base:bookworm-py311-{_RECIPE}"


class Skip(Exception):
    """Podman cannot run here; the message says why (the check is skipped, not failed)."""


class Failed(Exception):
    """A step failed; the message says which, with the command's output."""


def run(
    cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 1800, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Runs ``cmd``; a non-zero exit raises :class:`Failed` with the end of its output."""
    proc = subprocess.run(
        cmd, env=env, text=True, capture_output=True, timeout=timeout, check=False, **kw
    )  # type: ignore[call-overload]
    if proc.returncode != 0:
        out = (proc.stdout or "")[-3000:] + (proc.stderr or "")[-3000:]
        raise Failed(f"{' '.join(cmd[:4])} … exited {proc.returncode}:\n{out}")
    return proc


def ensure_tools() -> None:
    """Installs podman, buildah, runc and debootstrap with apt-get if one is missing and this
    is root on a Debian-like system; otherwise :class:`Skip`."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Skip(f"{', '.join(missing)} not installed, and no root apt-get to install them")
    print(f"check_container: installing {' '.join(TOOLS)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", "install", "-y", "-q", *TOOLS], env=env)
    except Failed:
        run(["apt-get", "update", "-q"], env=env)
        try:
            run(["apt-get", "install", "-y", "-q", *TOOLS], env=env)
        except Failed as exc:
            raise Skip(f"apt-get could not install {' '.join(TOOLS)}: {exc}") from None


def podman_env(workdir: Path) -> dict[str, str]:
    """The environment for podman: a containers.conf of our own (CONTAINERS_CONF) with limits
    this machine lets a container have, and runc as the runtime (crun refuses hosts with
    hybrid cgroups v1/v2). Podman's defaults (1048576 open files, as many processes) exceed
    a hard limit of 20000 open files, and runc is refused any process limit above the
    kernel's pid_max (32768 here) even below the hard limit: the container fails to start."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    try:
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text(encoding="ascii"))
    except (OSError, ValueError):
        pid_max = 32768
    nproc = pid_max if nproc == resource.RLIM_INFINITY else min(nproc, pid_max)
    limits = [f'"nproc={nproc}:{nproc}"']
    if nofile != resource.RLIM_INFINITY:
        limits.append(f'"nofile={nofile}:{nofile}"')
    lines = ["[containers]", f"default_ulimits = [{', '.join(limits)}]", "[engine]"]
    if shutil.which("runc"):
        lines.append('runtime = "runc"')
    conf = workdir / "containers.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def check_podman(env: dict[str, str]) -> None:
    """:class:`Skip` unless ``podman info`` works (storage, runtime, user namespaces)."""
    try:
        run(["podman", "info"], env=env, timeout=120)
    except Failed as exc:
        raise Skip(f"podman cannot run here: {str(exc).splitlines()[-1][:200]}") from None


def image_exists(name: str, env: dict[str, str]) -> bool:
    return subprocess.run(["podman", "image", "exists", name], env=env, check=False).returncode == 0


def image_id(name: str, env: dict[str, str]) -> str | None:
    out = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None if out.returncode == 0 else None


def image_size(name: str, env: dict[str, str]) -> int:
    """The image's size in bytes, as ``podman image ls`` counts it (all its layers)."""
    out = run(["podman", "image", "inspect", "--format", "{{.Size}}", name], env=env)
    return int(out.stdout.strip())


def ensure_base(env: dict[str, str], *, rebuild: bool = False) -> float | None:
    """Makes :data:`BASE_IMAGE` unless podman's store has it; the seconds it took, or None
    when it was reused."""
    if image_exists(BASE_IMAGE, env) and not rebuild:
        return None
    if os.geteuid() != 0:
        raise Skip("the base image is made with debootstrap, which needs root")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fwbot-base-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        print(f"check_container: debootstrap bookworm + {' '.join(BASE_PACKAGES)}", flush=True)
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                "bookworm",
                str(rootfs),
                DEBIAN_MIRROR,
            ]
        )
        for rel in BASE_TRIM:
            target = rootfs / rel
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
            elif target.exists():
                target.unlink()
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        run(
            [
                "podman",
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["python3"]',
                "-",
                BASE_IMAGE,
            ],
            env=env,
            stdin=tar.stdout,
        )
        tar.wait()
    return time.monotonic() - started


def build(env: dict[str, str]) -> float:
    """``podman build`` of deploy/Dockerfile on the base image; the seconds it took. Layers
    are cached, so a rebuild with the same dependencies only redoes the project's layers.
    The host's CA bundle is mounted read-only into the build's RUN steps (pip behind a
    proxy that re-signs TLS); the image keeps its own.

    The builder stage is tagged too (:data:`BUILDER`), so that its last layer is not a
    dangling image; the previous run's image and builder are removed once replaced, so the
    store keeps one of each (and the cached layers they share)."""
    cmd = ["podman", "build", "--format", "docker", "--layers", "--network", "host"]
    cmd += ["--build-arg", f"PYTHON_IMAGE={BASE_IMAGE}", "--file", "deploy/Dockerfile"]
    if HOST_CA_BUNDLE.is_file():
        cmd += ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    previous = {name: image_id(name, env) for name in (BUILDER, IMAGE)}
    started = time.monotonic()
    print("check_container: podman build -f deploy/Dockerfile .", flush=True)
    for tag in (["--target", "builder", "--tag", BUILDER], ["--tag", IMAGE]):
        proc = subprocess.run(
            [*cmd, *tag, "."], cwd=ROOT, env=env, text=True, capture_output=True, check=False
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-4000:])
            raise Failed(f"podman build exited {proc.returncode} (its output is above)")
    took = time.monotonic() - started
    for name in (IMAGE, BUILDER):  # the image first: it may hold the builder's layers
        old = previous[name]
        if old and old != image_id(name, env):
            subprocess.run(["podman", "rmi", old], env=env, capture_output=True, check=False)
    return took
