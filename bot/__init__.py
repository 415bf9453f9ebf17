"""The My Number Card e-certificate chatbot engine (公的個人認証サービス FAQ bot)."""
