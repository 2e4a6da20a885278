"""Review tools: the report page, explain, diff between runs, and scoring against gold."""
