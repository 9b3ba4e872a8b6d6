"""The web dashboard for staff and admins: server-rendered pages over the same services as the
bot (`build_services`), signed in with a one-time link the bot sends. No SQL in here."""

from web.app import create_app

__all__ = ["create_app"]
