"""Generated results: pages of tables and figures (``docs/results*.md``, ``reports/*.html``).

``render`` turns a :class:`~nf2vec_core.report.render.Page` into markdown or one self-contained
HTML file (images embedded); ``pages`` builds the page of each pipeline from ``metrics/`` and
``plots/``; ``provenance`` names the commit, date and hardware a page was generated on.
"""
