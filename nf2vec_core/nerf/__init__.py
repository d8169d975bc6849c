"""NeRFs as neural fields: multi-view data, camera rays, batched NeRF architectures over flat
vectors, volume rendering (nerfacc) and batched fitting (paper 000 §VI; paper 003 appendix B).

Modules (one topic each):

* :mod:`.blender` -- the Blender / NeRF-synthetic layout (``transforms_{split}.json`` + RGBA PNGs).
* :mod:`.rays` -- camera poses (OpenGL convention) and ray generation, ray/box bounds.
* :mod:`.render_views` -- the embedded multi-view dataset: procedural objects rendered from a sphere.
* :mod:`.arch` -- NeRF architectures (frequency-encoded MLP, tri-plane + sine MLP) on ``[N, P]``.
* :mod:`.render` -- volume rendering of a batch of NeRFs (nerfacc; pure-PyTorch reference).
* :mod:`.occgrid` -- occupancy grids per NeRF and ray marching (nerfacc's CUDA kernel; a
  pure-PyTorch reference march that also runs on CPU).
* :mod:`.fit` -- batched NeRF fitting (L1, foreground/background weights, Adam) and PSNR.
"""
