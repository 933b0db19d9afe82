"""What a model directory is: `blade.json` (config and generation defaults), the knowledge
template, the directory's load/save and checks, soft prompts, the export for inference engines,
packaged models. Imports no LangChain."""
