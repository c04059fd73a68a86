"""Write the HTTP API's OpenAPI document to openapi.json (committed; a test keeps it current).

    python tools/write_openapi.py
"""

import json
from pathlib import Path

from crisis_nlp import load_model
from crisis_nlp.serve.http import create_app

if __name__ == "__main__":
    doc = create_app(load_model()).openapi()
    out = Path(__file__).resolve().parent.parent / "openapi.json"
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")
