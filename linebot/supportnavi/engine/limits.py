"""LINE's limits on what the bot sends, and the room the engine keeps within them for its own
buttons and notices. A leaf: it imports nothing."""

from __future__ import annotations

# LINE's limits (Messaging API reference): a reply holds at most 5 messages, a quick reply at
# most 13 items, a quick-reply label at most 20 characters, postback data at most 300 characters
# and a text message at most 5000 UTF-16 code units.
MAX_MESSAGES = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_TEXT_UTF16 = 5000
# The engine may put one notice before a node's bubbles (a stale tap, a word it did not
# understand), and adds back + menu to every node's buttons.
NAV_BUTTONS = 2
MAX_NODE_BUBBLES = MAX_MESSAGES - 1

# The rich menu's tiles: a tab of RICHMENU_COLUMNS x RICHMENU_ROWS areas under a tab bar. A
# tile's label is drawn large, so it is short: at most RICHMENU_LABEL_LINES lines of at most
# RICHMENU_LINE_CHARS characters. Icons are shapes supportnavi.richmenu draws, by name.
RICHMENU_COLUMNS = 3
RICHMENU_ROWS = 2
RICHMENU_LINE_CHARS = 6
RICHMENU_LABEL_LINES = 2
RICHMENU_CHAT_BAR = 14  # LINE's limit for chatBarText
