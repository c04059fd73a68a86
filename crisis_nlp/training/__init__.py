"""Training and judging models: the shipped recipe, agency retraining, metrics, comparison, review, fairness and behaviour checks.

Nothing is imported here, so that importing one module of the folder (for example
the scorer, at inference) loads no other (for example scikit-learn, needed to train).
"""
