"""Telegram: the two library adapters (python-telegram-bot, aiogram), what they share, and the webhook."""
