"""The model: features, the trainable estimator, the inference scorer, a version's arrays, the response policy.

Nothing is imported here, so that importing one module of the folder (for example
the scorer, at inference) loads no other (for example scikit-learn, needed to train).
"""
