"""NeRFs as neural fields: multi-view data, camera rays, batched NeRF architectures over flat
vectors, volume rendering (nerfacc) and batched fitting (paper 000 §VI; paper 003 appendix B).

Modules (one topic each):

* :mod:`.blender` -- the Blender / NeRF-synthetic layout (``transforms_{split}.json`` + RGBA PNGs).
* :mod:`.rays` -- camera poses (OpenGL convention) and ray generation, ray/box bounds.
* :mod:`.synthetic_views` -- the embedded multi-view dataset: procedural objects rendered from a sphere.
* :mod:`.arch` -- NeRF architectures (frequency-encoded MLP, tri-plane + sine MLP, hash grid + MLP) on
  ``[N, P]``; paper 003's unseen-architecture variants.
* :mod:`.hashgrid` -- the multiresolution hash encoding (Instant-NGP), batched over NeRFs.
* :mod:`.render_config` -- sampling and compositing settings (the ``render`` params sub-section).
* :mod:`.render` -- volume rendering of a batch of NeRFs (nerfacc; pure-PyTorch reference).
* :mod:`.occgrid` -- occupancy grids per NeRF and ray marching (nerfacc's CUDA kernel; a
  pure-PyTorch reference march that also runs on CPU).
* :mod:`.fit` -- batched NeRF fitting (L1, foreground/background weights, Adam) and PSNR.
* :mod:`.dataset` -- the embedded multi-view dataset on disk and the NeRF neural-dataset store.
* :mod:`.encoder` -- nf2vec on NeRFs: the NeRF encoder (rows), the radiance decoder, render-loss training.
* :mod:`.tasks` -- render-then-classify baselines, the inference-time table, the transfer MLP.
* :mod:`.view_panels` -- image panels of decoded embeddings against their inputs: Figs. 5, 7-8 and
  21, with PSNRs.
"""
