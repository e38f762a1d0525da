"""SMS to the parties: the outbox (:mod:`mediation.sms.outbox`), its providers
(:mod:`mediation.sms.providers`) and one-time codes (:mod:`mediation.sms.codes`)."""
