"""The MCP server at /mcp: tools for AI assistants that call the domain services, nothing of
their own."""
