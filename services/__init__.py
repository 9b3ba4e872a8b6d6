"""The application's use cases, with no Telegram and no HTTP in them: the bot, the command line
and the dashboard share them."""
