"""Re-identification training (``train`` extra): embedding models, metric-learning losses,
miners, the P x K sampler, folder-per-identity data, the training loop and ONNX export.

Pieces, in the style of metric-learning libraries (small composable classes):
:mod:`.model` (:func:`create_embedder` registry: backbone + GeM/avg pool + linear + BN-neck + L2),
:mod:`.losses` (triplet, multi-similarity, ArcFace / sub-center ArcFace, weighted sum),
:mod:`.miners` (batch-hard, multi-similarity), :mod:`.samplers` (:class:`PKSampler`),
:mod:`.data` (datasets and augmentation), :mod:`.config`, :mod:`.engine` (:func:`train_reid`),
:mod:`.export` (:func:`export_embedder`), :mod:`.baseline` (plain ImageNet features).
"""
