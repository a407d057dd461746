"""neuralav.plugins: the built-in codecs, one package per codec."""
