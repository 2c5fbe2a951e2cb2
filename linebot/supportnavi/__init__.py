"""supportnavi: an unofficial LINE guide to Amazon support procedures in Japan."""
