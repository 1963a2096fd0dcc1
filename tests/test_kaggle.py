"""The Kaggle push folder: metadata, the embedded package, the CLI, and the built notebook
running alone (no repository on the path) in a simulated Kaggle layout.

Never imports the `kaggle` package (it authenticates on import) and never touches the network
or /kaggle.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest
from test_bundle import clean_env

from vitst_utils import bundle as B
from vitst_utils import kaggle as K

REPO = Path(__file__).resolve().parents[1]
TRAINING = REPO / "notebooks" / "02_training.py"
EXPECTED_META = {
    "language": "python",
    "kernel_type": "notebook",
    "is_private": True,
    "enable_gpu": True,
    "enable_tpu": False,
    "enable_internet": True,
    "machine_shape": "NvidiaTeslaT4",
    "dataset_sources": ["tuantai229/avataranime"],
    "competition_sources": [],
    "kernel_sources": [],
    "model_sources": [],
}
# Read by `kaggle kernels push` but optional: we leave them to the CLI's defaults.
OPTIONAL_CLI_FIELDS = {"id_no", "docker_image_pinning_type", "docker_image", "keywords"}
STANDIN = """\
# %% [markdown]
# # Stand-in training notebook

# %%
from vitst_utils.presets import get_preset

cfg = get_preset("smoke")
print(cfg.preset)
"""


@pytest.fixture
def standin(tmp_path) -> Path:
    path = tmp_path / "standin.py"
    path.write_text(STANDIN)
    return path


@pytest.fixture
def built(tmp_path, standin) -> Path:
    return K.build_push_folder("alice", tmp_path / "push", notebook=standin)


def _repo_package() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (REPO / "vitst_utils").glob("*.py")}


# --- metadata ----------------------------------------------------------------------------------
def test_template_has_every_field_a_push_reads():
    meta = json.loads((REPO / "kaggle" / "kernel-metadata.json").read_text())
    assert set(K.METADATA_FIELDS) <= set(meta)
    assert {k: meta[k] for k in EXPECTED_META} == EXPECTED_META
    owner, slug = meta["id"].split("/")
    assert owner and K.slugify(meta["title"]) == slug and meta["code_file"] == f"{slug}.ipynb"


def test_template_covers_the_installed_cli():
    """Read (not import) the kaggle CLI's push code: every field it reads is in our list."""
    spec = importlib.util.find_spec("kaggle")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("kaggle CLI not installed")
    source = Path(spec.submodule_search_locations[0], "api", "kaggle_api_extended.py").read_text()
    push = source[source.index("def kernels_push(") : source.index("def kernels_push_cli(")]
    read = set(re.findall(r'meta_data(?:, |\.get\()"(\w+)"', push))
    assert "machine_shape" in read and "code_file" in read  # the pattern still matches
    assert read - OPTIONAL_CLI_FIELDS <= set(K.METADATA_FIELDS)


@pytest.mark.parametrize(
    "title", ["vitst training", "ViT-ST: run #2", "a_b  c--d e", "it's 5 o'clock", "x & y & z"]
)
def test_slug_matches_the_kaggle_cli(title):
    slugify = pytest.importorskip("slugify").slugify  # python-slugify, what the CLI uses
    assert K.slugify(title) == slugify(title)


def test_built_metadata_and_files(built, standin, tmp_path):
    out = built.parent
    meta = json.loads((out / "kernel-metadata.json").read_text())
    assert meta["id"] == "alice/vitst-training" and meta["title"] == "vitst training"
    assert (out / meta["code_file"]) == built and built.is_file()
    assert {k: meta[k] for k in EXPECTED_META} == EXPECTED_META
    assert sorted(p.name for p in out.iterdir()) == ["kernel-metadata.json", built.name]

    other = K.build_push_folder("bob", tmp_path / "other", "My ViT run 2", standin)
    meta = json.loads((other.parent / "kernel-metadata.json").read_text())
    assert meta["id"] == "bob/my-vit-run-2" and other.name == "my-vit-run-2.ipynb"
    assert K.slugify(meta["title"]) == "my-vit-run-2"


# --- the notebook ------------------------------------------------------------------------------
def test_notebook_is_clean_and_keeps_the_training_cells(built, standin):
    nb = nbformat.read(built, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    intro, bundle, *rest = nb.cells
    assert intro.cell_type == "markdown" and "vitst_utils.kaggle build" in intro.source
    assert B.BUNDLE_VAR in bundle.source and B.BUNDLE_TAG in bundle.metadata.tags
    source = jupytext.read(standin)
    assert [(c.cell_type, c.source) for c in rest] == [
        (c.cell_type, c.source) for c in source.cells
    ]


def test_embedded_package_is_the_repo_package_byte_for_byte(built):
    embedded = K.embedded_files(built)
    repo = _repo_package()
    assert sorted(embedded) == sorted(repo) and "kaggle.py" in embedded
    assert embedded == repo


# --- errors and the CLI ------------------------------------------------------------------------
@pytest.mark.parametrize("user", ["", "  ", "alice/x", "alice smith", "KAGGLE_USERNAME"])
def test_bad_user_says_how_to_find_yours(user, standin, tmp_path):
    with pytest.raises(K.KaggleBuildError, match=r"(?s)--user.*kaggle\.json"):
        K.build_push_folder(user, tmp_path / "out", notebook=standin)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("title", "match"),
    [("abc", "5 to 50"), ("!!! ok !!!", "5 to 50"), ("x" * 51, "5 to 50"), ("Été run", "ASCII")],
)
def test_bad_title_names_the_rule(title, match, standin, tmp_path):
    with pytest.raises(K.KaggleBuildError, match=match):
        K.build_push_folder("alice", tmp_path / "out", title, standin)
    assert not (tmp_path / "out").exists()


def test_bad_paths_are_refused(standin, tmp_path):
    with pytest.raises(K.KaggleBuildError, match="overwrite the template"):
        K.build_push_folder("alice", REPO / "kaggle", notebook=standin)
    with pytest.raises(K.KaggleBuildError, match="not the paired .ipynb"):
        K.build_push_folder("alice", tmp_path / "out", notebook=standin.with_suffix(".ipynb"))
    with pytest.raises(K.KaggleBuildError, match="no such file"):
        K.build_push_folder("alice", tmp_path / "out", notebook=tmp_path / "missing.py")
    light = tmp_path / "light.py"
    light.write_text("print('no cell markers')\n")
    with pytest.raises(K.KaggleBuildError, match="percent-format"):
        K.build_push_folder("alice", tmp_path / "out", notebook=light)
    with pytest.raises(K.KaggleBuildError, match="bundle cell"):
        K.embedded_files(nbformat.v4.new_notebook())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vitst_utils.kaggle", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_builds_and_prints_the_next_steps(standin, tmp_path):
    out = tmp_path / "push"
    done = _cli("build", "--user", "alice", "--out", str(out), "--notebook", str(standin))
    assert done.returncode == 0, done.stderr
    assert f"kaggle kernels push -p {out} --accelerator NvidiaTeslaT4\n" in done.stdout
    assert "kaggle kernels status alice/vitst-training" in done.stdout
    assert "kaggle kernels output alice/vitst-training -p out/" in done.stdout
    assert K.embedded_files(out / "vitst-training.ipynb") == _repo_package()

    bad = _cli("build", "--user", "a/b", "--out", str(tmp_path / "bad"), "--notebook", str(standin))
    assert bad.returncode == 2 and "error: --user" in bad.stderr and "Traceback" not in bad.stderr


def test_resume_from_and_rehearsal_builds(standin, tmp_path):
    resume = K.build_push_folder(
        "alice", tmp_path / "resume", notebook=standin, resume_from="alice/vitst-training"
    )
    meta = json.loads((resume.parent / "kernel-metadata.json").read_text())
    assert meta["kernel_sources"] == ["alice/vitst-training"]  # its own output, or another's
    assert meta["id"] == "alice/vitst-training" and meta["machine_shape"] == "NvidiaTeslaT4"
    nb = nbformat.read(resume, as_version=4)
    settings = {"VITST_REHEARSAL": "0", "VITST_RESUME_FROM": "alice/vitst-training"}
    assert nb.metadata.vitst.settings == settings and repr(settings) in nb.cells[1].source
    assert "stops before training if nothing" in nb.cells[0].source

    rehearsal = K.build_push_folder(
        "alice", tmp_path / "rehearsal", notebook=standin, rehearsal=True
    )
    meta = json.loads((rehearsal.parent / "kernel-metadata.json").read_text())
    assert meta["id"] == "alice/vitst-rehearsal" and meta["kernel_sources"] == []
    nb = nbformat.read(rehearsal, as_version=4)
    assert (
        nb.metadata.vitst.settings["VITST_REHEARSAL"] == "1" and "Rehearsal" in nb.cells[0].source
    )
    for bad in (
        "vitst-training",
        "alice/",
        "alice/Vitst Training",
        "a/b/c",
        "KAGGLE_USERNAME/x-y-z",
    ):
        with pytest.raises(K.KaggleBuildError, match="USER/SLUG|placeholder"):
            K.build_push_folder("alice", tmp_path / "bad", notebook=standin, resume_from=bad)


def test_python_floor_and_the_kaggle_cli_pin_agree():
    """Every kaggle CLI that sends machine_shape (>= 1.8.4) needs Python >= 3.11: below that
    floor requirements.txt must not ask for it, or `pip install -r requirements.txt` fails."""
    floor = re.search(r'requires-python = ">=(\d+)\.(\d+)"', (REPO / "pyproject.toml").read_text())
    line = re.search(r"^kaggle==.*$", (REPO / "requirements.txt").read_text(), re.M).group(0)
    pin = tuple(int(x) for x in re.match(r"kaggle==([\d.]+)", line).group(1).split(".")[:3])
    assert pin >= K.MIN_KAGGLE_CLI
    if tuple(map(int, floor.groups())) < (3, 11):
        assert line.endswith('; python_version >= "3.11"'), line


def test_an_old_kaggle_cli_fails_the_build_early(standin, tmp_path, monkeypatch, capsys):
    with pytest.raises(
        K.KaggleBuildError, match=r"1\.7\.4\.5 is older than 1\.8\.4.*machine_shape"
    ):
        K.check_kaggle_cli("1.7.4.5")
    assert K.check_kaggle_cli("1.8.4") is None and K.check_kaggle_cli("2.2.5") is None
    assert "kaggle>=1.8.4" in K.check_kaggle_cli(None) and "3.11" in K.check_kaggle_cli(None)
    monkeypatch.setattr(K, "kaggle_cli_version", lambda: "1.7.4.5")
    out = tmp_path / "push"
    code = K.main(["build", "--user", "alice", "--out", str(out), "--notebook", str(standin)])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err.startswith("error: the installed kaggle CLI 1.7.4.5")


# --- end to end --------------------------------------------------------------------------------
def _simulated_kaggle(tmp_path: Path, built: Path) -> tuple[Path, Path, Path, dict]:
    """The built notebook alone in an empty session folder, a simulated /kaggle/input (the
    dataset under the newer datasets/<owner>/<slug> layout) and /kaggle/working, and the
    environment (smoke preset, the repository not importable)."""
    session = tmp_path / "session"
    session.mkdir()
    notebook = Path(shutil.copy(built, session))
    kaggle = tmp_path / "kaggle"
    dataset = kaggle / "input" / "datasets" / "tuantai229" / "avataranime" / "AvatarAnime"
    from vitst_utils.sample_data import make_sample_dataset

    make_sample_dataset(dataset, size=64)
    (kaggle / "working").mkdir()
    env = clean_env(
        VITST_KAGGLE_INPUT=str(kaggle / "input"),
        VITST_KAGGLE_WORKING=str(kaggle / "working"),
        VITST_PRESET="smoke",
    )
    env.pop("VITST_SESSION_START", None)
    probe = "import importlib.util; print(importlib.util.find_spec('vitst_utils'))"
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=session, env=env, capture_output=True, text=True
    )
    assert found.stdout.strip() == "None", "the repository must not be importable here"
    return notebook, kaggle / "working", dataset, env


def _execute(notebook: Path, env: dict) -> tuple[Any, str]:
    """Run every cell as Kaggle would; the notebook and its text outputs (also after an error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as e:
        error = e
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return error, text


@pytest.mark.skipif(not TRAINING.is_file(), reason=f"{TRAINING} not written yet")
def test_rehearsal_build_runs_alone_in_a_simulated_kaggle(tmp_path):
    """The pushed file is all Kaggle gets: the rehearsal build (the default notebook with the
    rehearsal switched on), copied alone into an empty folder with the repo off the path, trains
    epoch 1 of the smoke preset, resumes for epoch 2, evaluates within the session deadline and
    prints its verdict; checkpoints and pictures land in the working dir."""
    built = K.build_push_folder("alice", tmp_path / "push", rehearsal=True)
    notebook, working, dataset, env = _simulated_kaggle(tmp_path, built)
    error, text = _execute(notebook, env)
    assert error is None, f"{error}\n{text[-3000:]}"

    imported = re.search(r"vitst_utils imported from (\S+)", text)
    assert imported, text[:2000]
    assert (
        Path(imported.group(1)).resolve() == (notebook.parent / "vitst_utils/__init__.py").resolve()
    )
    assert "preset: smoke" in text and "session deadline" in text and "no GPU: CPU only" in text
    run = working / "vitst" / "smoke"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch_001.pt",
        "epoch_002.pt",
    ]
    assert list(run.glob("samples/epoch_*.png")), f"no sample grid under {run}"
    logged = (run / "train.log").read_text()
    assert "resumed from" in logged and "torch " in logged and "timm " in logged  # startup block
    # the attached dataset was found by searching /kaggle/input, not replaced by synthetic data
    assert f"data: {dataset} |" in logged and "SYNTHETIC" not in logged
    assert not (run / "sample_data").exists()
    assert "final evaluation: done" in text and (run / "evaluation" / "metrics.csv").is_file()
    verdict = text[text.index("Rehearsal verdict") :]
    assert "non-finite steps: 0" in verdict and "full anime epoch: 8 pairs" in verdict
    assert "VERDICT: ready" in verdict
    assert sorted(p.name for p in notebook.parent.iterdir()) == [notebook.name, "vitst_utils"]


@pytest.mark.skipif(not TRAINING.is_file(), reason=f"{TRAINING} not written yet")
def test_resume_from_build_refuses_to_start_over_when_nothing_was_attached(tmp_path):
    """Built with --resume-from, but Kaggle attached nothing (the CLI only warns about a source
    it refuses): the notebook stops in its configuration cell, having trained nothing."""
    built = K.build_push_folder("alice", tmp_path / "push", resume_from="alice/vitst-training")
    notebook, working, _, env = _simulated_kaggle(tmp_path, built)
    error, text = _execute(notebook, env)
    assert error is not None and "ResumeError" in str(error)
    assert "--resume-from alice/vitst-training: nothing to continue from" in str(error)
    assert not list(working.rglob("*.pt")) and "epochs (" not in text  # nothing trained


def test_the_checkout_is_found_or_its_missing_files_named(standin, tmp_path, monkeypatch):
    """From a checkout, or an installed package with --repo / the current folder."""
    assert K.find_repo() == REPO and K.find_repo(REPO) == REPO
    with pytest.raises(K.KaggleBuildError, match="lacks kaggle/kernel-metadata.json and req"):
        K.find_repo(tmp_path)
    monkeypatch.setattr(K, "PACKAGE_DIR", tmp_path / "site-packages" / "vitst_utils")
    monkeypatch.chdir(REPO)
    assert K.find_repo() == REPO  # an installed package, run in a clone
    monkeypatch.chdir(tmp_path)
    with pytest.raises(K.KaggleBuildError, match=f"{tmp_path} is not a vitst checkout.*--repo"):
        K.build_push_folder("alice", tmp_path / "out", notebook=standin)
    built = K.build_push_folder("alice", tmp_path / "out", notebook=standin, repo=REPO)
    assert K.embedded_files(built) == _repo_package()
