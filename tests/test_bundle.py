"""bundle.py: the package zipped into a notebook's first cell, what that cell installs, and the
cell run alone (no repository on the path) as a notebook and its DDP workers run it.
(`test_kaggle.py` checks the same bundle inside a built push folder.)"""

import ast
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from vitst_utils import bundle as B

REPO = Path(__file__).resolve().parents[1]

# Runs the bundle cell as a notebook would (twice), then starts a process the way DDP does (spawn):
# the worker must import the unpacked package too.
RUNNER = """
import multiprocessing
import runpy
import sys

if __name__ == "__main__":
    import os

    runpy.run_path(sys.argv[1], run_name="__main__")
    first, start = sys.modules["vitst_utils"], os.environ["VITST_SESSION_START"]
    runpy.run_path(sys.argv[1], run_name="__main__")  # the cell run again in the same kernel
    print(f"fresh module on re-run: {sys.modules['vitst_utils'] is not first}")
    print(f"session start {start} kept: {os.environ['VITST_SESSION_START'] == start}")
    print(f"settings {os.environ['VITST_REHEARSAL']}|{os.environ['VITST_RESUME_FROM']}|")
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=runpy.run_module, args=("vitst_utils.config",))
    worker.start()
    worker.join()
    print(f"spawned worker exit code {worker.exitcode}")
"""

# Runs the bundle cell as if torch-fidelity and lightning-utilities were missing, recording pip.
MISSING_RUNNER = """
import importlib.util
import runpy
import subprocess
import sys

real_find_spec = importlib.util.find_spec
hidden = {"torch_fidelity", "lightning_utilities"}
importlib.util.find_spec = lambda name, *a: None if name in hidden else real_find_spec(name, *a)
calls = []
subprocess.check_call = lambda cmd, *a, **k: calls.append(list(cmd)) or 0
runpy.run_path(sys.argv[1], run_name="__main__")
print(f"PIP {calls}")
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The test environment without PYTHONPATH: the repository is not importable."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", **extra)
    return env


@pytest.fixture(scope="module")
def cell_source() -> str:
    """The bundle cell of a default build (no rehearsal, nothing to resume)."""
    installs = B.kaggle_installs(REPO / "requirements.txt")
    return B.bundle_cell_source(B.package_files(), installs, B.build_settings())


def _notebook(cell: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])


def test_packed_files_are_the_package_and_reproducible(cell_source):
    files = B.package_files()
    assert files == {p.name: p.read_bytes() for p in (REPO / "vitst_utils").glob("*.py")}
    assert B.embedded_files(_notebook(cell_source)) == files
    assert B.pack(files) == B.pack(dict(reversed(files.items())))  # same sources, same bytes
    with pytest.raises(B.KaggleBuildError, match="bundle cell"):
        B.embedded_files(nbformat.v4.new_notebook())


def _installs(cell: str) -> list[tuple[str, str]]:
    match = re.search(r"installs = (\[.*?\])\n", cell, re.S)
    assert match, "the bundle cell lists what it installs"
    return ast.literal_eval(match.group(1))


def test_bundle_installs_only_missing_pinned_packages_never_torch(cell_source):
    requirements = (REPO / "requirements.txt").read_text()
    pin = re.search(r"^timm==(\S+)", requirements, re.M).group(1)
    fidelity = re.search(r"^torch-fidelity==(\S+)", requirements, re.M).group(1)
    metrics = re.search(r"^(torchmetrics\S+)", requirements, re.M).group(1)
    pyav = re.search(r"^(av\S+)", requirements, re.M).group(1)
    cell = cell_source
    installs = _installs(cell)
    assert installs == [
        ("timm", f"timm=={pin}"),
        ("torch_fidelity", f"torch-fidelity=={fidelity}"),
        ("lightning_utilities", "lightning-utilities"),
        ("torchmetrics", metrics),
        ("av", pyav),
    ]
    assert "importlib.util.find_spec(module) is None" in cell  # only when missing
    assert '"--no-deps", *missing' in cell
    names = {re.split(r"[=<>!~]", req)[0] for _, req in installs}
    assert not names & {"torch", "torchvision", "torchaudio"}


def _cell_runner(tmp_path, cell_source, runner_source):
    """The bundle cell and a runner script written to tmp_path, an empty work folder, and a
    function that runs the runner on the cell there (a fresh interpreter, a clean env)."""
    cell = tmp_path / "bundle_cell.py"
    cell.write_text(cell_source)
    runner = tmp_path / "runner.py"
    runner.write_text(runner_source)
    work = tmp_path / "work"
    work.mkdir()

    def run() -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(runner), str(cell)]
        return subprocess.run(cmd, cwd=work, env=clean_env(), capture_output=True, text=True)

    return cell, work, run


def test_bundle_cell_installs_what_is_missing_with_no_deps(cell_source, tmp_path):
    """Run the cell with torch-fidelity and lightning-utilities hidden and pip recorded."""
    cell, _, run = _cell_runner(tmp_path, cell_source, MISSING_RUNNER)
    done = run()
    assert done.returncode == 0, done.stderr
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    fidelity = dict(_installs(cell.read_text()))["torch_fidelity"]
    assert f"PIP {[pip + [fidelity, 'lightning-utilities']]}" in done.stdout
    assert "missing here: pip install --no-deps torch-fidelity==" in done.stdout


def test_kaggle_installs_refuse_torch(tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("timm==1.0\ntorch-fidelity==0.4.0\ntorchmetrics>=1.4, <2\nav>=18\n")
    assert B.kaggle_installs(reqs)[-2] == ("torchmetrics", "torchmetrics>=1.4,<2")
    reqs.write_text("timm>=1.0\ntorch-fidelity==0.4.0\ntorchmetrics>=1.4\nav>=18\n")
    with pytest.raises(B.KaggleBuildError, match="timm==<version>"):
        B.kaggle_installs(reqs)
    reqs.write_text("timm==1.0\ntorchmetrics>=1.4\nav>=18\n")
    with pytest.raises(B.KaggleBuildError, match="torch-fidelity"):
        B.kaggle_installs(reqs)


def test_bundle_cell_unpacks_replaces_and_guards(cell_source, tmp_path):
    """The bundle cell imports its own copy, replaces an older one, spares a foreign one."""
    cell, work, run = _cell_runner(tmp_path, cell_source, RUNNER)
    before = time.time()
    first = run()
    assert first.returncode == 0, first.stderr
    assert f"imported from {work / 'vitst_utils' / '__init__.py'}" in first.stdout
    assert "fresh module on re-run: True" in first.stdout
    start = float(re.search(r"session start (\S+) kept: True", first.stdout).group(1))
    assert before <= start <= time.time()  # recorded first, kept when the cell runs again
    assert "settings 0||" in first.stdout  # a default build: no rehearsal, nothing to resume
    assert "spawned worker exit code 0" in first.stdout  # DDP workers import it too
    assert {p.name: p.read_bytes() for p in (work / "vitst_utils").glob("*.py")} == (
        B.embedded_files(_notebook(cell.read_text()))
    )
    (work / "vitst_utils" / "stale.py").write_text("raise ImportError('stale copy')\n")
    second = run()
    assert second.returncode == 0, second.stderr
    assert not (work / "vitst_utils" / "stale.py").exists()

    shutil.rmtree(work / "vitst_utils")
    (work / "vitst_utils").mkdir()  # someone's own folder: never deleted
    (work / "vitst_utils" / "mine.py").write_text("")
    guarded = run()
    assert guarded.returncode != 0 and "was not unpacked by this notebook" in guarded.stderr
    assert (work / "vitst_utils" / "mine.py").exists()
