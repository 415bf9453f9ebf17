"""Understanding a message: which intent it asks, and whether it is ours at all.

normalize (width, case, the lexicon of misconversions) → tokenizer (SudachiPy) → analyzer
(words, readings, n-grams, names, the asking sentences) → matcher: exact lookup, then the
lexical scores (lexical, bm25), the trained model (model, logreg), deciding words
(concepts) and the gate ("is this ours?"). intents loads the intents file. Nothing here
knows the dialogue, the knowledge base or a channel.
"""
