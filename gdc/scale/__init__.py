"""Fits over data in parts: files streamed from disk in bounded batches, or partitions held by
Dask workers; each pass adds the kernels' partial sums in a fixed order (gdc.runtime.passes)."""
