"""Preprocess learned reward functions so that people can read them.

Potential shaping never changes which policy is optimal, so we pick the shaping
that makes a reward simplest to look at (sparse or smooth) and plot that.
"""

__version__ = "0.1.0"
