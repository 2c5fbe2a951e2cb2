"""Running without LINE: a fake Messaging API that records what the bot sends."""
