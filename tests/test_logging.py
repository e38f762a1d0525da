"""No personal ID number in the logs, whatever path it takes (request lines, errors, app logs)."""

from __future__ import annotations

import logging
import urllib.request

from mediation.logsafe import mask_ids
from tests.factories import make_id


def test_mask_ids_in_text():
    number = make_id()
    assert mask_ids(f"q={number}&x=1") == f"q={number[:3]}***********{number[-4:]}&x=1"
    assert mask_ids("order 12345678901234567890") == "order 12345678901234567890"  # not an ID shape


def test_request_lines_and_app_logs_mask_id_numbers(app, live_server, world, caplog):
    number = make_id()
    caplog.set_level(logging.INFO)
    url = live_server.url_for(f"/api/v1/disputes?q={number}")
    req = urllib.request.Request(url, headers=world.mediator_a.headers)
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200
    logging.getLogger("mediation").warning("party %s registered", number)
    logging.getLogger("werkzeug").info("GET /x?q=%s", number)
    assert caplog.text, "nothing was logged"
    assert number not in caplog.text
    assert number[:3] + "*" * 11 + number[-4:] in caplog.text
