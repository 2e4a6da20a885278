"""Running many documents: the batch runner, the output folder and its generations, per-document budgets, progress."""
