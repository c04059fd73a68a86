"""The shipped model registry (installed as ``crisis_nlp._models``): one folder per
``<name>/<version>`` holding ``model.joblib``, ``policy.toml`` and ``manifest.json``."""
