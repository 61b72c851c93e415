"""Segmentation's groundwork, below the Task seam: Kaggle's run-length codec (`rle`) and
reading ground-truth masks from image files or run-length tables (`masks`). Numpy, OpenCV and
pandas only, no torch: a task's submission codec, the data layer and the notebooks import it.
"""
