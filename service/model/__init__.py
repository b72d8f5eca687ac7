"""The encoder: the `Embedder` seam, the model processes, the batching pool over them and its core budget."""
