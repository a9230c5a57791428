"""The built-in OAuth 2.1 authorization server for AI apps that connect to /mcp by its URL."""
