from processor.cli.main import entry

entry()
