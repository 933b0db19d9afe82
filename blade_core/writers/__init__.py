"""The two knowledge writers: `DomainLM` in this process, `EndpointWriter` over a completions
endpoint; `load.load_writer` picks one from a source. Imports no LangChain."""
