"""The operator dashboard: its SQL aggregates (queries) and its SVG charts (charts)."""
