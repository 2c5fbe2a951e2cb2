"""The conversation service: load the person's state, advance it, save it, then answer."""
