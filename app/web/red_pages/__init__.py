"""网络红页: the unit's editor (routes.py, under /unit/red-page) and the public site (site.py, /hy/<id>/)."""
