"""Transfer to the state treasury and back: format, transport, send, receive, simulator, SEPA."""
