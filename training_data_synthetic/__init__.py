"""The synthetic training notes, installed with the package as ``crisis_nlp._synthetic``
so that ``crisis-nlp train --data mine.jsonl`` works after ``pip install``."""
