"""`wfsim app`: the local web app (streamlit, extra ``wfsim[app]``); a composition root like
the CLI.

``workspace.py`` holds everything the page shows or runs, without streamlit (tested on its own);
``page.py`` is the streamlit script that `wfsim app` starts (``streamlit run``).
"""
