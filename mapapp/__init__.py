"""The Streamlit map app (Chinese / English): catalog queries, pages, map styles.

The only package besides ``app.py`` that imports Streamlit.
"""
