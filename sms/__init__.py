"""Rules and protocols with no Django: SMPP 3.4 (`sms.smpp`), and the text rules every app shares.

Dependencies run one way: `templates_app`, `campaigns` and the rest import this package; it
imports none of them, so it can be tested and reused on its own.
"""
