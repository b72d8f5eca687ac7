"""Tests of the encoder: embeddings, model processes, the batching pool and its cores."""
