"""电子证书管理 pages (S 1.2.8.1; H 1.9, 1.16–1.20, 1.29): the issuer's queues, batches, 证书查询 / 撤销 / 报送,
发证单位编码 and 证书编号, 批量生成电子证书 by import; and the public verification page /verify/<code>."""

from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


def register(app) -> None:  # type: ignore[no-untyped-def]
    from app.blueprints.certificates import queues, registry, settings  # noqa: F401  (routes on bp)

    app.register_blueprint(bp)
    app.register_blueprint(registry.verify_bp)
