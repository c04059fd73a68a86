"""The shipped model registry (installed as ``crisis_nlp._models``): one folder per
``<name>/<version>`` holding plain data (see :mod:`crisis_nlp.registry.versions`)."""
