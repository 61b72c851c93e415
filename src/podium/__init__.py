"""podium: a Kaggle-style image competition pipeline."""

__version__ = "0.1.0"
