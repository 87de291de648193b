"""REST API /api/v1 for programs (routes.py), and the account page where its tokens are made (tokens.py)."""
