"""Server-rendered nurse pages: templates, static files, the browser session, strings, SVG charts."""
