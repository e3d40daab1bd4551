"""What a GPU machine without a package index needs beside the checkout, and how it gets there.

    python benchmarks/gpu_full.py prepare --fer2013 /path/to/fer2013.zip   # uses this module

- :func:`download_wheels`: the wheels of the packages the GPU machine's image lacks
  (:data:`CARRIED`), for its Python, at the versions the course is tested with here;
  :func:`unmet_requirements` checks that nothing they need is missing there;
  :func:`install_wheels` installs them on the GPU machine, with no index.
- :func:`pack_fer2013` / :func:`unpack_fer2013`: FER2013's image-folder zip, packed small enough
  to travel, and rebuilt with identical members on the other side.
- :func:`travel_bytes`: how much the checkout and the carried folders weigh together.

Everything lands in the git-ignored ``.device/`` folder (``wheels/``, ``data/``): never
committed, since FER2013's licence forbids redistributing it or anything derived from it.
"""

from __future__ import annotations

import base64
import json
import lzma
import os
import re
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICE_DIR = ROOT / ".device"  # git-ignored: what travels to a GPU machine beside the checkout
WHEEL_DIR = DEVICE_DIR / "wheels"
DATA_DIR = DEVICE_DIR / "data"
PACK_NAME = "fer2013.pack"
TRAVEL_LIMIT_BYTES = 64 * 2**20  # the checkout and carried folders a GPU machine takes in one call


# ----------------------------------------------------------------------------- FER2013, packed
# FER2013's image-folder zip is 61.6 MB; a GPU machine that takes 64 MiB of files in all has no
# room for it beside the wheels.  Its 35,887 JPEGs share their first 328 bytes (the same
# quantisation and Huffman tables), and a zip spends ~140 bytes per member on headers: stored
# once, the same bytes take 44.7 MB.  The machine rebuilds a zip whose members are identical
# (checked by CRC-32), which the course reads as any FER2013 zip.
PACK_MAGIC = b"FERPACK1"


def pack_fer2013(source_zip, dest) -> dict:
    """Write ``dest``: every member of ``source_zip`` once, their common JPEG prefix stored once.

    Returns ``{"members", "bytes", "source_bytes", "prefix_bytes"}``.  :func:`unpack_fer2013`
    rebuilds a zip with the same member names and contents.
    """
    source_zip, dest = Path(source_zip), Path(dest)
    with zipfile.ZipFile(source_zip) as z:
        infos = z.infolist()
        blobs = [b"" if i.is_dir() else z.read(i) for i in infos]
    jpegs = [b for b in blobs if b[:2] == b"\xff\xd8"]
    prefix = os.path.commonprefix(jpegs[:1000]) if jpegs else b""
    members, body = [], []
    for info, blob in zip(infos, blobs):
        shared = bool(prefix) and blob.startswith(prefix)
        rest = blob[len(prefix):] if shared else blob
        members.append([info.filename, len(rest), shared, zlib.crc32(blob)])
        body.append(rest)
    header = lzma.compress(json.dumps({"source": source_zip.name, "source_bytes": source_zip.stat().st_size,
                                       "prefix": base64.b64encode(prefix).decode(),
                                       "members": members}).encode())
    from fercourse import atomic

    with atomic.replacing(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(PACK_MAGIC + struct.pack("<Q", len(header)) + header)
            for rest in body:
                f.write(rest)
    return {"members": len(members), "bytes": dest.stat().st_size,
            "source_bytes": source_zip.stat().st_size, "prefix_bytes": len(prefix)}


def unpack_fer2013(pack, dest_zip) -> dict:
    """Rebuild the zip packed by :func:`pack_fer2013` at ``dest_zip`` (members stored, each
    checked against its CRC-32); a damaged or truncated pack is an error naming it."""
    pack, dest_zip = Path(pack), Path(dest_zip)
    with open(pack, "rb") as f:
        head = f.read(len(PACK_MAGIC) + 8)
        if len(head) < len(PACK_MAGIC) + 8 or not head.startswith(PACK_MAGIC):
            raise ValueError(f"{pack}: not a FER2013 pack (expected one written by "
                             "`gpu_full.py prepare`); prepare it again")
        (n,) = struct.unpack("<Q", head[len(PACK_MAGIC):])
        try:
            meta = json.loads(lzma.decompress(f.read(n)))
        except (lzma.LZMAError, ValueError, EOFError) as exc:
            raise ValueError(f"{pack}: its header is damaged ({exc}); prepare it again") from None
        prefix = base64.b64decode(meta["prefix"])
        from fercourse import atomic

        with atomic.replacing(dest_zip) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
                for name, size, shared, crc in meta["members"]:
                    rest = f.read(size)
                    if len(rest) != size:
                        raise ValueError(f"{pack}: truncated at member {name} (expected {size} more bytes); "
                                         "prepare it again")
                    blob = prefix + rest if shared else rest
                    if zlib.crc32(blob) != crc:
                        raise ValueError(f"{pack}: member {name} is damaged (CRC-32 mismatch); prepare it again")
                    z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), blob)
            if f.read(1):
                raise ValueError(f"{pack}: holds bytes after its last member; prepare it again")
    return {"members": len(meta["members"]), "bytes": dest_zip.stat().st_size, "source": meta["source"]}


# ----------------------------------------------------------------------------- wheels
# What the GPU machine's image lacks for this script, pinned at prepare time to the versions
# the course is tested with here.  Left out on purpose (their importers treat them as optional):
# debugpy (ipykernel's debugger), jedi and parso (IPython's completion), widgetsnbextension and
# jupyterlab-widgets (ipywidgets' browser side), Sphinx and the rest of myst-nb's build-time
# needs (the chapters call only myst_nb.glue, which needs IPython, nbformat and docutils).
CARRIED = (
    "keras", "namex", "optree", "pooch", "platformdirs", "ipywidgets",
    "nbval", "ipykernel", "ipython", "ipython-pygments-lexers", "jupyter-client", "jupyter-core",
    "traitlets", "pyzmq", "tornado", "comm", "matplotlib-inline", "nest-asyncio2", "nbformat",
    "fastjsonschema", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
    "pexpect", "ptyprocess", "prompt-toolkit", "wcwidth", "stack-data", "asttokens", "executing",
    "pure-eval", "myst-nb", "docutils",
)
LEFT_OUT = {
    "debugpy": "ipykernel's debugger", "jedi": "IPython's completion", "parso": "IPython's completion",
    "widgetsnbextension": "ipywidgets' browser side", "jupyterlab-widgets": "ipywidgets' browser side",
    "sphinx": "myst-nb's book build", "myst-parser": "myst-nb's book build",
    "jupyter-cache": "myst-nb's book build", "nbclient": "myst-nb's book build",
    "importlib-metadata": "myst-nb on old Pythons",
}
# The GPU machine's image (its python3, 3.12) as last listed: what need not travel.
DEVICE_PYTHON = "3.12"
DEVICE_HAS = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build
certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings
cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils
execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet
httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax
jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning
lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib
mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro onnx onnx-ir onnxruntime onnxscript opencv-python-headless
optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow
pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools
shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())
PIP_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                 "manylinux2014_x86_64", "manylinux1_x86_64")


def normalize(name) -> str:
    """A distribution name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def wheel_name(path) -> str:
    """The normalised distribution name of a wheel file."""
    return normalize(Path(path).name.split("-")[0])


def download_command(dest, specs) -> list[str]:
    """The ``pip download`` that fetches ``specs`` (``name==version``) as wheels for the GPU
    machine's Python, whatever this machine runs."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", DEVICE_PYTHON, "--implementation", "cp"]
    for p in PIP_PLATFORMS:
        cmd += ["--platform", p]
    return cmd + ["-d", str(dest), *specs]


def download_wheels(dest=WHEEL_DIR, names=CARRIED) -> list[Path]:
    """Fetch the wheels of ``names`` at the versions installed here into ``dest``, and remove
    every other wheel there (two versions of one package stop an install, and everything in
    ``dest`` is installed on the GPU machine)."""
    import importlib.metadata as md

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    specs = []
    for name in names:
        try:
            specs.append(f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            raise RuntimeError(f"{name} is not installed here, so its version cannot be pinned; "
                               "install the course's environment (python3 course.py env) first") from None
    subprocess.run(download_command(dest, specs), check=True)
    wanted = {normalize(s.split("==")[0]): s.split("==")[1] for s in specs}
    kept = []
    for whl in sorted(dest.glob("*.whl")):
        if wanted.get(wheel_name(whl)) == whl.name.split("-")[1]:
            kept.append(whl)
        else:  # another version, or a package no longer carried: everything here is installed
            whl.unlink()
    return kept


def unmet_requirements(wheels, python=DEVICE_PYTHON) -> dict[str, list[str]]:
    """``{wheel: [requirements neither carried, on the GPU machine, nor left out on purpose]}``."""
    from packaging.requirements import Requirement

    env = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    carried = {wheel_name(w) for w in wheels}
    unmet = {}
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            lines = z.read(meta).decode("utf-8", "replace").splitlines()
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = normalize(req.name)
            if name not in carried and name not in DEVICE_HAS and name not in LEFT_OUT:
                unmet.setdefault(Path(whl).name, []).append(str(req))
    return unmet


def install_wheels(wheel_dir, target) -> dict:
    """Install every wheel of ``wheel_dir`` into ``target`` (no index, no dependencies) and put
    ``target`` first on this process's path; returns what was installed and how long it took."""
    wheels = sorted(Path(wheel_dir).glob("*.whl"))
    if not wheels:
        return {"installed": [], "seconds": 0.0}
    names = [wheel_name(w) for w in wheels]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RuntimeError(f"{wheel_dir} holds two versions of {', '.join(twice)}; keep one of each")
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename

    here = set(sys_tags())
    foreign = [w.name for w in wheels if not set(parse_wheel_filename(w.name)[3]) & here]
    if foreign:
        raise RuntimeError(f"{wheel_dir} holds wheels for another Python or platform than this one "
                           f"(Python {sys.version_info.major}.{sys.version_info.minor}): {', '.join(foreign)}. "
                           "Fetch them for this machine, or pass --wheels none to use the environment as it is")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", str(target), *map(str, wheels)], check=True)
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    return {"installed": [w.name for w in wheels], "target": str(target),
            "seconds": round(time.perf_counter() - t0, 1)}


def travel_bytes(extra_paths=()) -> int:
    """Bytes of the checkout that travel to a GPU machine (tracked and untracked-not-ignored
    files) plus ``extra_paths`` (carried, git-ignored folders)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    total = sum((ROOT / p).stat().st_size for p in out.decode().split("\0") if p and (ROOT / p).is_file())
    for extra in extra_paths:
        extra = Path(extra)
        total += sum(p.stat().st_size for p in extra.rglob("*") if p.is_file()) if extra.is_dir() else 0
    return total
