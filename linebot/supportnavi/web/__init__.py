"""HTTP routes: the LINE webhook, health and metrics."""
