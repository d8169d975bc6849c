"""Learning directly on NF weights (paper 004 §4, paper 000 §VIII), one topic per module:

* :mod:`.graph`: NF vectors ``[N, P]`` -> batched computational graphs (nodes = neurons, edges = weights);
* :mod:`.gnn`: the message-passing graph classifier of paper 004 (:class:`~.gnn.GNNConfig`);
* :mod:`.mlp`: a plain MLP on the flattened weights (:class:`~.mlp.FlatMLPConfig`);
* :mod:`.train`: the training / evaluation loop shared by both (:class:`~.train.TrainConfig`);
* :mod:`.connectivity`: linear mode connectivity and git re-basin weight matching;
* :mod:`.distances`: pairwise parameter distances and k-means NMI on raw weights;
* :mod:`.params`: the ``weightspace`` params section (:class:`~.params.WeightspaceParams`).
"""
