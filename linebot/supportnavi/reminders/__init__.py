"""Deadline reminders: the scheduling rules (pure) and the dispatcher that pushes them."""
