"""The rich menu: its layout from `scenarios/system.yaml` (layout.py, pure), its images drawn
with Pillow (draw.py, only for `supportnavi richmenu build`), and the built images (images/),
which `supportnavi richmenu deploy` uploads without needing a font."""
