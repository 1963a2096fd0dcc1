"""vitst: real portrait photos to anime-style portraits with a ViT encoder, AdaIN and a CNN decoder.

One file per concern: config, data, sample_data, function (the math), weights, model, losses,
step (one training step), checkpoint, train, evaluate, domain (the domain classifier),
inference, face, export, dataquality, plots, explore, env, kaggle, benchmark. Importing this
package downloads nothing.
"""

from .config import TrainConfig, get_preset

__version__ = "0.1.0"
__all__ = ["TrainConfig", "get_preset", "__version__"]
