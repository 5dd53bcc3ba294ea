"""What does an image reward model respond to? Feature visualization, NMF, dataset examples and attribution.

The top layer of the library: it may import every package below it, and nothing imports it.

- `transitions`: a transition (obs, action, next obs) as one image-shaped tensor, and the model wrapper that reads it
- `layers`: listing a model's layers with output shapes, resolving one by name, capturing its activations
- `nmf`: non-negative matrix factorization over the channels of a layer
- `features`: what a "feature" is (an output unit or an NMF direction) and its spatial map
- `visualize`: gradient ascent on an input transition (lucent parameterization and transforms)
- `dataset`: rollout transitions (read by `data.image_rollouts` / `data.rollouts`) and their top-activating examples
- `attribution`: integrated gradients from the input or a layer to the reward
- `figures`, `report`: PNGs, ``features.json`` and the self-contained HTML report
- `run`: the settings dataclass and the one function `scripts/interpret.py` calls
"""
