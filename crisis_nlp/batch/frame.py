"""pandas in, pandas out: a DataFrame with the result columns added (the ``pandas`` extra)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError:
        raise InputError(f"this needs {module}: pip install 'crisis-nlp[{extra}]'.") from None


def relabel_frame(model, df: Any, *, text_column: str = "text", explain: bool = False,
                  chunk_size: int | None = None) -> Any:
    """A copy of ``df`` (same index, every column) with the columns of
    :func:`crisis_nlp.batch.relabel.result_columns` added. A row whose note is missing, empty,
    not text or too long gets ``error`` and no labels; ``categories``/``flags`` hold lists."""
    from .labelling import CHUNK_SIZE, label_texts, result_columns

    pd = require("pandas", "pandas")
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"relabel_frame takes a pandas DataFrame, got {type(df).__name__}.")
    if text_column not in df.columns:
        raise InputError(f"the frame has no column {text_column!r}; pass text_column=.")
    names = result_columns(explain)
    clash = [c for c in names if c in df.columns]
    if clash:
        raise InputError(f"the frame already has result columns {clash}; drop or rename them first.")
    texts = df[text_column].tolist()
    step = chunk_size or CHUNK_SIZE
    cols: dict[str, list] = {c: [] for c in names}
    for start in range(0, len(texts), step):
        for c, values in label_texts(model, texts[start:start + step], explain=explain).items():
            cols[c].extend(values)
    out = df.copy()
    for c in names:
        values = cols[c]
        out[c] = pd.Series(values, index=df.index, dtype="float64" if c.startswith("score_") else object)
    return out
