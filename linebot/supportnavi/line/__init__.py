"""The LINE adapter: the only package that imports the SDK (`linebot.v3`)."""
