import json

import pytest

from vitst_utils.config import TrainConfig, parse_overrides
from vitst_utils.presets import get_preset


def test_seed_preset_is_the_seed_experiment():
    c = get_preset("seed")
    assert (c.vit_name, c.pretrained, c.image_size) == ("vit_base_patch16_224", True, 224)
    assert (c.batch_size, c.num_workers, c.lr, c.epochs) == (8, 2, 1e-4, 50)
    assert (c.lambda_content, c.lambda_style) == (3.0, 1.0)
    assert c.vgg_layers == (1, 6, 11, 20, 29) and c.content_layer == 2
    assert c.style_loss == "mean_std" and c.save_every == 5
    assert (c.train_limit, c.val_limit) == (800, 100)
    assert (c.content_domain, c.style_domain) == ("CelebA", "AnimeFace")
    assert c.strategy == "dp" and c.amp is False  # DataParallel in fp32, like the seed
    assert c.decoder == "convtranspose" and c.hflip


def test_overrides_and_pretrained_switch():
    c = get_preset("seed", pretrained=False, lr=5e-5)
    assert c.pretrained is False and c.lr == 5e-5
    assert get_preset("seed").pretrained is True  # presets are not mutated


def test_json_round_trip(tmp_path):
    c = get_preset("smoke", epochs=7, time_budget_minutes=1.5)
    assert TrainConfig.from_json(c.to_json()) == c
    c.to_json(tmp_path / "c.json")
    assert TrainConfig.from_json(tmp_path / "c.json") == c
    assert json.loads(c.to_json())["decoder_channels"] == [64, 32, 16, 16]


def test_a_cel_config_from_before_the_line_colour_keeps_its_ink():
    """A cel run saved before `cel_line` / `cel_simplify` / `cel_clean` / `cel_tone` existed
    inked in the palette's darkest colour (0), was never simplified (0), cleaned (0) nor tone
    matched (0); a new one reads the style's line colour and ink length, cleans and matches
    tones; a non-cel config gets the defaults."""
    demo = get_preset("demo").to_dict()
    new = TrainConfig.from_dict(demo)

    def knobs(d):
        c = TrainConfig.from_dict(d)
        return c.cel_line, c.cel_simplify, c.cel_clean, c.cel_tone

    assert demo["output_space"] == "cel" and knobs(demo) == (0.02, 3, 3, 0.6)
    old = {k: v for k, v in demo.items() if k[:4] != "cel_" or k in ("cel_colors", "cel_ink")}
    assert knobs({**old, "cel_tau": demo["cel_tau"]}) == (0.0, 0, 0, 0.0)
    fifth = {k: v for k, v in demo.items() if k not in ("cel_simplify", "cel_clean", "cel_tone")}
    assert knobs(fifth) == (0.02, 0, 0, 0.0)  # the sixth round's
    seventh = {k: v for k, v in demo.items() if k not in ("cel_clean", "cel_tone")}
    assert knobs(seventh) == (0.02, 3, 0, 0.0)
    tenth = {k: v for k, v in demo.items() if k != "cel_tone"}
    assert knobs(tenth) == (0.02, 3, 3, 0.0)
    # a run saved before the cleaning or the tone matching resumes with them: neither runs in
    # training
    for before in (seventh, tenth):
        assert TrainConfig.from_dict(before).model_signature() == new.model_signature()
    seed = {k: v for k, v in get_preset("seed").to_dict().items() if k[:4] != "cel_"}
    assert knobs(seed) == (0.02, 3, 3, 0.6)


def test_colours_match_by_mean_and_std_unless_histograms_are_asked_for():
    """`cel_match`: "adain" in every preset and in configs saved before it; "histogram" trains
    on other colours, so no run resumes across the two."""
    demo = get_preset("demo")
    assert demo.cel_match == "adain"
    before = {k: v for k, v in demo.to_dict().items() if k != "cel_match"}
    assert TrainConfig.from_dict(before).cel_match == "adain"
    hist = get_preset("demo", cel_match="histogram")
    assert hist.model_signature() != demo.model_signature()


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"strategy": "tpu"}, "strategy"),
        ({"image_size": 100}, "multiple of 16"),
        ({"content_layer": 5}, "content_layer"),
        ({"style_loss": "x"}, "style_loss"),
        ({"luma_close": 2}, "luma_close=2 is invalid: use an odd width"),
        ({"output_space": "ink"}, "output_space='ink' is invalid: use normalized|pixels|cel"),
        ({"cel_ink": [0.2, 0.1]}, r"cel_ink=\(0.2, 0.1\) is invalid: use two RGB distances"),
        ({"cel_line": 1.5}, r"cel_line=1.5 is invalid: use a share of pixels in \[0, 1\)"),
        ({"cel_simplify": -1}, "cel_simplify=-1 is invalid: use a number of passes >= 0"),
        ({"cel_simplify": True}, "cel_simplify=True is invalid: use a number of passes >= 0"),
        ({"cel_clean": 1.5}, "cel_clean=1.5 is invalid: use a number of passes >= 0"),
        ({"cel_colors": 1}, "cel_colors=1 is invalid: use at least 2"),
        ({"cel_match": "reinhard"}, "cel_match='reinhard' is invalid: use adain|histogram"),
        ({"cel_tone": 1.5}, r"cel_tone=1.5 is invalid: use a share in \[0, 1\]"),
    ],
)
def test_invalid_values_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        get_preset("smoke", **bad)


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="Available: seed, anime, demo, smoke, rehearsal"):
        get_preset("nope")
    with pytest.raises(ValueError, match="Unknown recipe 'x'. Available: seed, anime"):
        get_preset("demo", recipe="x")
    with pytest.raises(ValueError, match="Unknown TrainConfig fields: \\['lrr'\\]"):
        get_preset("seed", lrr=1)


def test_parse_overrides():
    got = parse_overrides(
        ["lr=3e-4", "amp=false", "data_root=/x/y", "time_budget_minutes=null", "vgg_layers=[1,6]"]
    )
    assert got == {
        "lr": 3e-4,
        "amp": False,
        "data_root": "/x/y",
        "time_budget_minutes": None,
        "vgg_layers": [1, 6],
    }
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        parse_overrides(["nope=1"])
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["lr"])


def test_seed_preset_has_no_new_behaviour():
    """New options default to the seed's behaviour, and the seed preset turns off every lever."""
    from vitst_utils.config import TrainConfig
    from vitst_utils.presets import SEED_RECIPE

    c = get_preset("seed")
    assert {k: getattr(c, k) for k in SEED_RECIPE} == {
        k: tuple(v) if isinstance(v, list) else v for k, v in SEED_RECIPE.items()
    }
    assert {k: getattr(TrainConfig(), k) for k in SEED_RECIPE} == {
        k: getattr(c, k) for k in SEED_RECIPE
    }
    assert not (c.batched_passes or c.channels_last or c.fused_adam or c.cudnn_benchmark)
    assert not (c.compile or c.cache_images) and c.lr_schedule == "constant"
    assert c.recipe == "seed" and c.run_name == "seed"


def test_recipes_swap_at_the_same_scale():
    anime, demo = get_preset("anime"), get_preset("demo")
    assert anime.recipe == demo.recipe == "anime" and anime.lambda_adv > 0
    assert (anime.decoder, anime.output_space) == ("upsample", "cel")
    assert anime.train_limit is None and anime.amp and anime.time_budget_minutes
    seedlike = get_preset("demo", recipe="seed")
    assert seedlike.run_name == "demo-seed" and seedlike.lambda_adv == 0
    assert seedlike.decoder == "convtranspose" and seedlike.vit_layers == ()
    assert seedlike.output_space == "normalized"  # swapping the recipe resets the cel stage
    assert (seedlike.image_size, seedlike.lr, seedlike.epochs) == (
        demo.image_size,
        demo.lr,
        demo.epochs,
    )
    assert get_preset("smoke", recipe="anime").run_name == "smoke-anime"
    assert get_preset("demo", recipe="anime") == demo


def test_rehearsal_is_the_anime_run_in_miniature():
    """The same model, weights and recipe as `anime` (only the scale differs), the adversary
    in its second and last epoch, both GPUs expected, a time budget of its own."""
    anime, rehearsal = get_preset("anime"), get_preset("rehearsal")
    assert rehearsal.model_signature() == anime.model_signature() and rehearsal.pretrained
    assert rehearsal.run_name == "rehearsal" and rehearsal.recipe == "anime"
    assert (rehearsal.epochs, rehearsal.adv_start_epoch, rehearsal.save_every) == (2, 2, 1)
    assert rehearsal.train_limit <= 1000 and rehearsal.batch_size == anime.batch_size
    assert rehearsal.expected_gpus == anime.expected_gpus == 2 and rehearsal.amp
    assert 0 < rehearsal.time_budget_minutes <= 15
    differs = {k for k, v in rehearsal.to_dict().items() if anime.to_dict()[k] != v}
    assert differs == {
        "preset",
        "train_limit",
        "val_limit",
        "epochs",
        "adv_start_epoch",
        "warmup_steps",
        "prototype_images",
        "time_budget_minutes",
    }


def test_session_fields_validate_and_round_trip():
    c = get_preset("smoke", deadline=1.8e9, ddp_timeout_minutes=45, expected_gpus=2)
    assert TrainConfig.from_json(c.to_json()) == c
    assert get_preset("smoke").ddp_timeout_minutes == 30 and get_preset("smoke").deadline is None
    for bad in ({"ddp_timeout_minutes": 0}, {"expected_gpus": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            get_preset("smoke", **bad)


def test_presets_still_import_from_config_as_before_they_moved():
    from vitst_utils import config, presets
    from vitst_utils.config import DEMO, PRESETS
    from vitst_utils.config import get_preset as old

    assert old is presets.get_preset and PRESETS is presets.PRESETS and DEMO is presets.DEMO
    with pytest.raises(AttributeError, match="has no attribute 'NO_SUCH'"):
        config.NO_SUCH  # noqa: B018


def test_recipes_are_the_defaults_and_overrides_of_recipe_fields():
    """SEED_RECIPE is TrainConfig's defaults (one source of truth); a recipe may only change
    recipe fields, so a swap of recipes resets all of them."""
    from vitst_utils import presets

    assert set(presets.ANIME_RECIPE) <= set(presets.RECIPE_FIELDS) == set(presets.SEED_RECIPE)
    swapped = get_preset("demo", recipe="seed")
    assert {k: getattr(swapped, k) for k in presets.RECIPE_FIELDS} == presets.SEED_RECIPE
    with pytest.raises(ValueError, match=r"\['lr'\] are not recipe fields"):
        presets._recipe(lr=1e-3)
