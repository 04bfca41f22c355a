"""The ops console: server-rendered pages (Jinja2, autoescaped) with htmx, served by the same
Chalice app under /console. Importing this package registers every page on its blueprint."""

from chalicelib.console import auth, customers, insight, oversight, pages
from chalicelib.console.web import console

__all__ = ["auth", "console", "customers", "insight", "oversight", "pages"]
