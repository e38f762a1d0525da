"""The parties' door (一案一码, issue 15): ``/c/<case_code>``.

A party of a case opens the case's public address, proves who they are with a one-time SMS code sent
to a phone number on file for a party of that case (:mod:`mediation.sms.codes`), and gets a party
session (:class:`~mediation.parties.models.PartySession`, its own cookie on ``/c/``) that opens only
that case's pages. The page says in plain words where the case stands and what happens next, who
handles it, the deadline, the sessions, the documents addressed to the party and the outcome.

- :mod:`.models`: ``party_session`` and ``party_code_failure`` (per-address limit of wrong codes).
- :mod:`.sessions`: start, find, touch and end a party session; the cookie.
- :mod:`.service`: who the phone is, the code flow, the access rules (``may_open_case``), what the
  page shows (``case_view``) and the documents a party may download.
- :mod:`.plain`: stage and outcome → a plain sentence and "what happens next".
- :mod:`.views`: the blueprint ``parties``.
"""
