"""The Telegram side of whatmatters: the Application, its handlers, and the command line."""
