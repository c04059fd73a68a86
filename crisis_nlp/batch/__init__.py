"""Many notes at once: file formats, the resumable relabel job, pandas and Dask, cross-tables.

Nothing is imported here, so that importing one module of the folder (for example
the scorer, at inference) loads no other (for example scikit-learn, needed to train).
"""
