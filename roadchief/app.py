"""The app factory. It lives apart from the package root so that `import roadchief` (and so
`roadchief --help`, issue #15) does not load Flask, APIFlask and SQLAlchemy; the root forwards
`create_app` lazily."""

from __future__ import annotations

from apiflask import APIFlask
from sqlalchemy.orm import Session

from roadchief import MIGRATIONS_DIR
from roadchief.config import instance_dir, load_config


def create_app(overrides: dict | None = None) -> APIFlask:
    app = APIFlask(
        __name__,
        title="roadchief API",
        version="1",
        instance_path=str(instance_dir()),
        spec_path="/openapi.json",
        docs_path=None,
        openapi_blueprint_url_prefix="/api/v1",
        json_errors=False,
    )
    app.config.from_mapping(load_config())
    app.config.update(
        INFO={
            "description": "青铜峡市农村公路“路长制”管理系统 JSON API。需以 `Authorization: Bearer <token>` 认证（roadchief create-token）。"
            "时间：返回值为 ISO 8601 北京时间，带 `+08:00`；提交的时间带时区则按其换算，不带时区按北京时间；"
            "月份、季度按北京时间日期划分。"
        },
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
        AUTO_404_RESPONSE=False,
    )
    if overrides:
        app.config.update(overrides)

    from roadchief.extensions import csrf, db, limiter, login_manager, migrate
    from roadchief.services import audit, spatial_index, token_cache

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    audit.install(Session)
    spatial_index.install(Session)
    token_cache.install(Session)  # no write while a request's cached bearer token is unverified
    import roadchief.models  # noqa: F401  (register tables)
    from roadchief.web import register_web

    register_web(app)
    if app.config["PROXY_FIX"]:
        # behind one reverse proxy: take the client address from X-Forwarded-For (rate limits, audit)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    return app
