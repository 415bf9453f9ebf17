"""The ways in: HTTP shapes (http), WebSocket frames (ws) and the LINE Messaging API (line,
line_api, line_messages). Channels only translate I/O around bot.engine.Bot.reply.
"""
