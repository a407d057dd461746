"""neuralav-zlib: example lossless codecs for neuralav (see ``plugin`` and ``codecs``)."""
