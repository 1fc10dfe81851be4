"""What people and other systems touch: the web app, the CLI and the composition root."""
