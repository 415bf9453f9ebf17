"""Where things live between turns: conversation state (sessions: SQLite or memory; redis_store),
and the turn log the staff report reads (turnlog). The engine hands them values; they read
no settings of their own.
"""
