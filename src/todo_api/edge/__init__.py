"""The HTTP edge: protocol limits, middleware, direct routes, error handlers, probes,
metrics and the API's documentation. Imports domains never; the entry wires them."""
