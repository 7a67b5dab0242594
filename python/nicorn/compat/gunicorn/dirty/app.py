"""gunicorn.dirty.app: DirtyApp and its loaders (python/nicorn/dirty/app.py)."""

from nicorn.dirty.app import DirtyApp, load_dirty_app, load_dirty_apps, parse_dirty_app_spec

__all__ = ["DirtyApp", "load_dirty_app", "load_dirty_apps", "parse_dirty_app_spec"]
