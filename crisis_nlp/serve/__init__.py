"""Serving the model to dispatch software: HTTP (with stdio) and NENA EIDO.

Nothing is imported here, so that importing one module of the folder (for example
the scorer, at inference) loads no other (for example scikit-learn, needed to train).
"""
