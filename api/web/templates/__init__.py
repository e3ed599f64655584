"""Jinja2 templates of the nurse pages (a package only so that wheels carry the files)."""
