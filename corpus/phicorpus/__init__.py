"""phimesh's labelled synthetic PHI corpus generator (see corpus/README.md).

    core.py      validators, vocabulary, Faker, records, phrases, JSON writer, Sample
    oracle.py    the self-check of every sample
    families/    one module per template family, and the registry (families/__init__.py)
    cli.py       generate() and the command line of corpus/gen.py
"""
