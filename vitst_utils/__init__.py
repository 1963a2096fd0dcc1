"""vitst: real portrait photos to anime-style portraits with a ViT encoder, AdaIN and a CNN decoder.

One file, one job (README "Repository layout" says each): the core is config (its presets),
function (the math), weights, model (its cel output stage: cel, celstyle, colour_transfer), losses,
step (one training step) and train (its epoch_report); around it the run folder (rundir,
checkpoint), data (data, dataroot, trainingdata, imagecache, sample_data, transfer_faces,
heldout_faces, heldout2_faces, heldout2_photos, heldout3_faces, heldout3_photos, heldout4_faces,
heldout4_photos, heldout5_faces, heldout6_faces, heldout7_faces, heldout8_faces, heldout9_faces,
heldout10_faces, heldout11_faces, heldout12_faces, heldout12_photos, drawing, dataquality,
quality_report, copies, explore), stylising (stylize, prototype, photos, tiling, cpu_paths, face,
inference, cli, export), video (video, frames, temporal, videoio, sample_clip), evaluation
(evaluate, scoring, metrics, metric_weights, domain, plots), Kaggle and machines (env, distributed,
session, bundle, kaggle) and speed (benchmark, benchmark_stylize). Importing this package downloads
nothing.
"""

from .config import TrainConfig
from .presets import get_preset

__version__ = "0.1.0"
__all__ = ["TrainConfig", "get_preset", "__version__"]
