"""nf2vec: deep learning on neural fields (fit neural datasets, embed NF weights, downstream tasks)."""
__version__ = "0.1.0"
