"""Model versions: stored as plain data, looked up, promoted and rolled back, converted, described by a card.

Nothing is imported here, so that importing one module of the folder (for example
the scorer, at inference) loads no other (for example scikit-learn, needed to train).
"""
