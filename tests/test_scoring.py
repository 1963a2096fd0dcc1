"""What an evaluation scores (scoring.py): folders of pictures made elsewhere, paired with the
photos by name, else by sorted order."""

from pathlib import Path

from vitst_utils.scoring import pair_image_folder


def test_pairing_by_name_then_by_order(tmp_path):
    photos = [Path(f"/data/val/face_{i}.jpg") for i in (1, 2, 3)]
    named = tmp_path / "named"
    named.mkdir()
    for name in ("face_1_x_anime.png", "face_1.png", "face_3-out.jpg", "face_33.png", ".x.png"):
        (named / name).write_bytes(b"")
    pairs, problems = pair_image_folder(named, photos)
    assert pairs == [(0, named / "face_1.png"), (2, named / "face_3-out.jpg")]
    assert problems == [f"{named}: no picture named after face_2.jpg"]

    ordered = tmp_path / "ordered"
    ordered.mkdir()
    for name in ("b.png", "a.png"):
        (ordered / name).write_bytes(b"")
    pairs, problems = pair_image_folder(ordered, photos)
    assert pairs == [(0, ordered / "a.png"), (1, ordered / "b.png")]
    assert "2 files for 3 photos: paired the first 2 by sorted order" in problems[0]
    assert pair_image_folder(tmp_path / "nope", photos)[1] == [
        f"{tmp_path / 'nope'}: image folder not found"
    ]
