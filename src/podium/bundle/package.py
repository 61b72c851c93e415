"""The parts of a bundle that are not predictions: podium's own wheel (built offline from the
source tree with the build backend already installed), dependency wheels when asked
(`--wheels`: the only step that uses the network), and the Kaggle files: dataset-metadata.json
for `kaggle datasets create -p BUNDLE` and kernel/ for `kaggle kernels push -p BUNDLE/kernel`
(internet off, the bundle as its dataset, a script that installs podium from the bundle with
`pip install --no-index` and runs `podium predict`)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from podium.artifacts import atomic_write_text, write_json
from podium.errors import ArtifactError

_log = logging.getLogger(__name__)
WHEELS = "wheels"


def project_root() -> Path:
    """The source tree podium runs from (its pyproject.toml), which the wheel is built from."""
    import podium

    root = Path(podium.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise ArtifactError(
            f"podium runs from {Path(podium.__file__).parent}, not from a source tree with a "
            "pyproject.toml: export needs podium's source to build its wheel (pip install -e .)"
        )
    return root


def _pip(args: list[str], what: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ArtifactError(f"{what} failed ({' '.join(cmd)}): {' | '.join(tail)}")


def build_podium_wheel(dest: Path) -> Path:
    """podium's wheel, built offline (no build isolation: the backend installed here) from a
    copy of the source tree, so the build leaves no build/ or egg-info in the user's."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("podium-*.whl"):
        old.unlink()
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="podium-wheel-") as tmp:
        src = Path(tmp) / "podium"
        shutil.copytree(
            root / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy(root / name, src / name)
        _pip(
            [
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "-q",
                "-w",
                str(dest),
                str(src),
            ],
            "building podium's wheel",
        )
    wheels = sorted(dest.glob("podium-*.whl"))
    if not wheels:
        raise ArtifactError(f"building podium's wheel wrote no podium-*.whl into {dest}")
    return wheels[-1]


def download_wheels(dest: Path, requirements: list[str]) -> list[Path]:
    """Wheels of `requirements` (and their dependencies) for the target machine: pip download,
    the one network step of an export, run only when the user asks (`--wheels`)."""
    before = set(dest.glob("*.whl"))
    _pip(
        ["download", "--only-binary=:all:", "-q", "-d", str(dest), *requirements],
        f"downloading wheels of {requirements}",
    )
    return sorted(set(dest.glob("*.whl")) - before)


def slug(text: str) -> str:
    """A Kaggle slug: lower case, digits and dashes, 6 to 50 characters."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50]
    return s if len(s) >= 6 else f"{s}-bundle"


KERNEL_SCRIPT = '''"""podium predict in a Kaggle code competition (internet off): install podium from the
bundle dataset, predict the hidden test images, write submission.csv (and the test predictions,
{predictions}) into the working folder.
Written by `podium export`; PODIUM_KAGGLE_INPUT / PODIUM_KAGGLE_WORKING replace /kaggle/input
and /kaggle/working to rehearse it on another machine."""

import os
import subprocess
import sys
from pathlib import Path

INPUT = Path(os.environ.get("PODIUM_KAGGLE_INPUT", "/kaggle/input"))
WORKING = Path(os.environ.get("PODIUM_KAGGLE_WORKING", "/kaggle/working"))
COMPETITION = {competition!r}
# the bundle: the attached dataset that holds manifest.json and wheels/
bundle = next(
    p.parent for p in sorted(INPUT.rglob("manifest.json")) if (p.parent / "wheels").is_dir()
)
# the competition's data: the folder with the sample submission that is not the bundle
samples = [p.parent for p in sorted(INPUT.rglob({sample!r})) if bundle not in p.parents]
data = next((p for p in samples if COMPETITION in p.name), samples[0])
wheels = bundle / "wheels"
podium_wheel = next(wheels.glob("podium-*.whl"))  # by file: a podium already there is no reason to skip it
with_deps = any(not w.name.startswith("podium-") for w in wheels.glob("*.whl"))
subprocess.check_call(
    [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels),
     *([] if with_deps else ["--no-deps"]), str(podium_wheel)]
)
subprocess.check_call(
    [sys.executable, "-m", "podium", "predict", "--bundle", str(bundle), "--data", str(data),
     "--out", str(WORKING / "submission.csv"), "--predictions", str(WORKING / {predictions!r})]
)
'''


def write_kaggle_files(
    bundle: Path,
    competition: str,
    name: str,
    sample: str,
    gpu: bool,
    predictions: str = "test.parquet",
) -> None:
    """dataset-metadata.json (the bundle as a private dataset) and kernel/ (the notebook that
    predicts from it). The owner is $KAGGLE_USERNAME, else a placeholder to edit."""
    user = os.environ.get("KAGGLE_USERNAME") or "YOUR_KAGGLE_USERNAME"
    dataset = slug(f"podium-{competition}-{name}")
    write_json(
        bundle / "dataset-metadata.json",
        {
            "title": f"podium {competition} {name}"[:50],
            "id": f"{user}/{dataset}",
            "licenses": [{"name": "CC0-1.0"}],
        },
    )
    kernel = bundle / "kernel"
    write_json(
        kernel / "kernel-metadata.json",
        {
            "id": f"{user}/{slug(f'{dataset}-predict')}",
            "title": f"podium {competition} {name} predict"[:50],
            "code_file": "predict.py",
            "language": "python",
            "kernel_type": "script",
            "is_private": True,
            "enable_gpu": gpu,
            "enable_internet": False,
            "dataset_sources": [f"{user}/{dataset}"],
            "competition_sources": [competition],
            "kernel_sources": [],
        },
    )
    atomic_write_text(
        kernel / "predict.py",
        KERNEL_SCRIPT.format(competition=competition, sample=sample, predictions=predictions),
    )
