"""neuralav.container: Matroska files, streams, the transcode pipeline and the command line."""
