"""What a question's knowledge is: its views (the question, each option, each entity recited), the
guards (the entity gate and its one name finder, confidence), merging and sampling, over any
writer. Imports no LangChain."""
