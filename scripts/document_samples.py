"""Render one page of each 人民调解文书 as a PNG for the README (docs/documents/<kind>.png).

    cd <repo> && python scripts/document_samples.py [out_dir]

Builds the test world in an in-memory SQLite database (tests/factories.py), takes fictitious cases
through the workflow (accepted, mediated, agreed, confirmed, visited; one 不予受理; one 调解不成功),
renders every document with the real renderer and converts its first page with
``pdftoppm -r 60 -png -f 1 -l 1`` (about 20–60 KB each). Nothing here is personal data.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mediation import clock, create_app  # noqa: E402
from mediation.extensions import db  # noqa: E402


def png(pdf: bytes, out: Path, page: int = 1) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-png",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(src),
                str(out.with_suffix("")),
            ],
            check=True,
        )
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}  {out.stat().st_size // 1024} KB")


def main(out_dir: Path) -> None:
    from mediation.demo.small import build_world, configure_signing, effective_agreement, make_case
    from mediation.disputes import workflow
    from mediation.disputes.casework import JudicialConfirmation
    from mediation.disputes.workflow_schemas import AcceptIn, CloseIn, RejectIn, RouteIn, SessionIn
    from mediation.documents import service

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "SECRET_KEY": "samples",
                "INSTANCE_DIR": tmp,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context(), app.test_request_context(), clock.frozen(datetime(2026, 3, 12, 2, 0)):
            db.create_all()
            w = build_world()
            configure_signing(app, Path(tmp))  # after the world: each unit signs with its own certificate
            mediator, center = w.mediator_a.user, w.center_user_a.user
            summary = "楼上李四家卫生间水管破裂，渗水致张三家顶棚及墙面发霉脱落，多次协商未果，要求李四修缮并赔偿损失3500元。"

            def case():
                d = make_case(w, occurred_on="2026-03-01", summary=summary)
                workflow.perform(center, d, "route", RouteIn().load({"channel": "人民调解", "unit": "TW-A"}))
                return d

            d = case()
            workflow.perform(mediator, d, "accept", AcceptIn().load({}))
            workflow.perform(
                mediator,
                d,
                "session",
                SessionIn().load(
                    {
                        "held_on": "2026-03-12",
                        "place": "海滨街道人民调解委员会调解室",
                        "mediators": "王调解、刘调解",
                        "attendees": "申请人张三、被申请人李四",
                        "record": "调解员听取双方陈述，查看了受损墙面照片。李四承认水管破裂后未及时维修。\n"
                        "经释法明理，双方同意由李四修缮水管并赔偿墙面修复费用3500元。",
                    }
                ),
            )
            effective_agreement(w, d)
            service.save_form(
                mediator,
                d,
                "oral",
                {
                    "agreed_on": "2026-03-12",
                    "content": "李四于三日内请人修好卫生间水管，修好前不再使用该卫生间。",
                    "performance": "李四自行维修，张三予以配合。",
                    "mediator": "王调解",
                },
            )
            workflow.perform(mediator, d, "close", CloseIn().load({"outcome": "调解成功"}))
            db.session.add(
                JudicialConfirmation(
                    dispute_id=d.id, agreement_on=d.closed_on, applied_on=d.closed_on, court_id=w.court.id
                )
            )
            service.save_form(
                mediator,
                d,
                "followup",
                {
                    "visited_on": "2026-03-12",
                    "method": "上门回访",
                    "visitor": "王调解",
                    "visited": "申请人张三",
                    "performance": "李四已修好水管并支付赔偿款3500元。",
                    "opinion": "对调解结果满意。",
                },
            )
            db.session.commit()

            rejected = case()
            workflow.perform(
                mediator, rejected, "reject", RejectIn().load({"reason": "该纠纷已由人民法院立案受理"})
            )
            failed = case()
            workflow.perform(mediator, failed, "accept", AcceptIn().load({}))
            workflow.perform(
                mediator,
                failed,
                "close",
                CloseIn().load({"outcome": "调解不成功", "note": "双方对赔偿数额分歧过大"}),
            )
            db.session.commit()

            for kind in (
                "application",
                "registration",
                "acceptance",
                "rights",
                "record",
                "oral",
                "confirmation",
                "followup",
                "cover",
            ):
                png(service.render_form_pdf(d, kind), out_dir / f"{kind}.png")
            png(service.render_form_pdf(rejected, "rejection"), out_dir / "rejection.png")
            png(service.render_form_pdf(failed, "termination"), out_dir / "termination.png")
            agreement = service.agreements_of(d)[0]
            png(service.signed_agreement(agreement).pdf, out_dir / "agreement.png")
            png(service.case_file_pdf(mediator, d).content, out_dir / "case_file_index.png", page=2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "documents")
