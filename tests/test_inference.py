from PIL import Image

from vitst_utils import checkpoint as C
from vitst_utils.inference import main
from vitst_utils.model import build_model


def test_cli_stylises_files_and_folders(smoke_cfg, sample_root, tmp_path, capsys):
    ckpt = C.save_checkpoint(tmp_path / "ck.pt", build_model(smoke_cfg), smoke_cfg, epoch=1)
    photos = sample_root / "CelebA" / "test"
    style = next((sample_root / "AnimeFace" / "test").iterdir())
    (tmp_path / "notes.txt").write_text("not an image")
    rc = main(
        [
            "--checkpoint",
            str(ckpt),
            "--content",
            str(photos),
            str(tmp_path / "notes.txt"),
            "--style",
            str(style),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0 and "notes.txt" in err
    written = sorted((tmp_path / "out").glob("*_x_*.png"))
    assert len(written) == len(list(photos.iterdir())) and str(written[0]) in out
    assert Image.open(written[0]).size == (smoke_cfg.image_size, smoke_cfg.image_size)


def test_cli_errors_read_well(tmp_path, sample_root, capsys):
    style = next((sample_root / "AnimeFace" / "test").iterdir())
    rc = main(
        ["--checkpoint", str(tmp_path / "nope.pt"), "--content", str(style), "--style", str(style)]
    )
    assert rc == 2 and "No checkpoint file" in capsys.readouterr().err
    rc = main(
        ["--checkpoint", "x.pt", "--content", str(tmp_path / "missing.jpg"), "--style", str(style)]
    )
    assert rc == 2 and "missing.jpg does not exist" in capsys.readouterr().err
