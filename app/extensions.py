"""Flask extensions, created unbound and initialised in create_app()."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Only the routes that need throttling carry limits (login); storage from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=lambda: request.remote_addr or "-", default_limits=[])
