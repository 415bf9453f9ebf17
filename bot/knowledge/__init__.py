"""What the bot says: answers and their official sources, municipality profiles, its own phrases.

base loads knowledge/ once into immutable objects and checks it at start-up; message holds
the shape of one thing the bot says (Message, Link); yamlfile reads the data files with
errors that name the file and line.
"""
