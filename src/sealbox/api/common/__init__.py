"""What the API families share: what a handler is given (context), the access gate, object tags."""
